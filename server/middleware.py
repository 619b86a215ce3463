"""Transport quirks of real clients, handled before routing."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class PlainTextJson:
    """LangGraph Studio posts JSON bodies as `text/plain`, curl users often send none:
    treat both as JSON. Other declared types are left for validation to refuse."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
            headers = [(n, v) for n, v in scope["headers"] if n != b"content-type"]
            kinds = [v.split(b";")[0].strip().lower() for n, v in scope["headers"] if n == b"content-type"]
            if not kinds or kinds[0] == b"text/plain":
                headers.append((b"content-type", b"application/json"))
                scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)
