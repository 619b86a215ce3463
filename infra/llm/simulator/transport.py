"""An httpx2 transport that runs an ASGI app in-process and streams its response as the app sends it.

`httpx2.ASGITransport` awaits the whole app before it returns a response and joins the body into one
piece: a streamed completion then arrives all at once, and a stalled or silent app hangs the client,
since no timeout is enforced in-process. This transport instead runs the app as a task and hands each
body message to the client as it is sent, enforcing the request's read timeout between messages, so
streaming, `stall` and `timeout` behave as they do over a socket:

- no message within the read timeout -> `httpx2.ReadTimeout` (the OpenAI SDK raises `APITimeoutError`);
- the app ends or fails after the response started but before its last body message ->
  `httpx2.RemoteProtocolError`, what a dropped connection gives (the SDK raises `APIConnectionError`);
- an app failure before any response -> the app's own exception, as with `httpx2.ASGITransport`.

Closing the response (or a timeout) tells the app `http.disconnect` and cancels it. asyncio only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import httpx2
from starlette.types import ASGIApp

Message = MutableMapping[str, Any]


class _AppFinished:
    """Queued when the app's task ends, so the reader learns it without polling the task."""

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class _Exchange:
    """One request running through the app: its task, the messages it sent, the disconnect signal."""

    def __init__(self, app: ASGIApp, scope: dict[str, Any], body: bytes, request: httpx2.Request) -> None:
        self.request = request
        self._body: bytes | None = body
        self._messages: asyncio.Queue[Message | _AppFinished] = asyncio.Queue()
        self._disconnected = asyncio.Event()
        self._task: asyncio.Task[None] = asyncio.create_task(self._run(app, scope))
        self._task.add_done_callback(self._finished)
        timeout = request.extensions.get("timeout") or {}
        self._read_timeout: float | None = timeout.get("read")

    async def _run(self, app: ASGIApp, scope: dict[str, Any]) -> None:
        await app(scope, self._receive, self._send)

    async def _receive(self) -> Message:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        await self._disconnected.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: Message) -> None:
        await self._messages.put(message)

    def _finished(self, task: asyncio.Task[None]) -> None:
        error = None if task.cancelled() else task.exception()
        self._messages.put_nowait(_AppFinished(error))

    async def next_message(self) -> Message | _AppFinished:
        try:
            async with asyncio.timeout(self._read_timeout):
                return await self._messages.get()
        except TimeoutError as exc:
            await self.close()
            raise httpx2.ReadTimeout(
                f"no data from the simulator within {self._read_timeout}s", request=self.request
            ) from exc

    async def close(self) -> None:
        self._disconnected.set()
        if not self._task.done():
            self._task.cancel()
        # Wait for the app to unwind; its outcome was already reported (or no longer matters to anyone).
        await asyncio.wait({self._task})


class _StreamedBody(httpx2.AsyncByteStream):
    def __init__(self, exchange: _Exchange) -> None:
        self._exchange = exchange

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            message = await self._exchange.next_message()
            if isinstance(message, _AppFinished):
                await self._exchange.close()
                raise httpx2.RemoteProtocolError(
                    "peer closed connection without sending complete message body",
                    request=self._exchange.request,
                ) from message.error
            if message["type"] != "http.response.body":
                continue
            if message.get("body"):
                yield message["body"]
            if not message.get("more_body", False):
                return

    async def aclose(self) -> None:
        await self._exchange.close()


class SimulatorTransport(httpx2.AsyncBaseTransport):
    """Hand it to `httpx2.AsyncClient(transport=...)` in place of `httpx2.ASGITransport`."""

    def __init__(self, app: ASGIApp, client: tuple[str, int] = ("127.0.0.1", 123)) -> None:
        self.app = app
        self.client = client

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        assert isinstance(request.stream, httpx2.AsyncByteStream)
        body = b"".join([part async for part in request.stream])
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query,
            "server": (request.url.host, request.url.port),
            "client": self.client,
            "root_path": "",
        }
        exchange = _Exchange(self.app, scope, body, request)
        message = await exchange.next_message()
        while not isinstance(message, _AppFinished) and message["type"] != "http.response.start":
            message = await exchange.next_message()
        if isinstance(message, _AppFinished):
            await exchange.close()
            if message.error is not None:
                raise message.error
            raise httpx2.RemoteProtocolError("server disconnected without sending a response", request=request)
        return httpx2.Response(message["status"], headers=message.get("headers", []), stream=_StreamedBody(exchange))
