"""Transport quirks of real clients, handled before routing."""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra import logs


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


class BodySizeLimit:
    """Refuse request bodies over `max_bytes` with 413 `payload_too_large`: at once when the declared
    Content-Length says so, otherwise as soon as the chunks read so far exceed it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await JSONResponse(self._error(), status_code=413)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised inside the endpoint's body read, so the app's error handlers answer it.
                    raise HTTPException(413, self._error()["detail"])
            return message

        await self.app(scope, limited, send)

    def _error(self) -> dict[str, str]:
        return {"detail": f"Request body is larger than {self.max_bytes} bytes.", "code": "payload_too_large"}


_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RequestId:
    """Every request gets an id: the client's `X-Request-ID` when it is sane (at most 64 of
    `A-Za-z0-9._-`), a new one otherwise. Its log records carry it as `request_id` and every
    response, streams included, as `x-request-id`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = Headers(scope=scope).get("x-request-id", "")
        request_id = offered if _SANE_REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                MutableHeaders(scope=message)["x-request-id"] = request_id
            await send(message)

        token = logs.request_id.set(request_id)
        await self.app(scope, receive, send_with_id)
        # Not reset when the app raises: the 500 handler outside us (Starlette's ServerErrorMiddleware)
        # and the server's own error log still belong to this request. Each request has its own context.
        logs.request_id.reset(token)
