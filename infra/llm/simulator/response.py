"""Delivering one completion over ASGI with the requested timing, and the faults that act on the wire.

Timing: nothing is sent for `ttft_ms`; then events go out on a schedule of `tokens_per_s`, each event
due when the characters before it have been "generated" (about 4 per token). A non-streaming answer
waits for the whole generation. Wire faults, at the midpoint of the generated events:

- `stall`: streaming goes silent for `stall_s`, then finishes normally; non-streaming waits `stall_s`
  more before answering.
- `cut`: the connection is dropped (`SimulatedCut`): mid-stream without finish_reason or `[DONE]`, or
  half-way through a JSON body whose Content-Length promised more.
- `timeout`: nothing at all for `stall_s`, then a 504 error.

A client that disconnects stops the work at once (`http.disconnect` cancels the generation).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import anyio
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from infra.llm.simulator.config import Controls
from infra.llm.simulator.faults import ERROR_FAULTS, SimulatedCut
from infra.llm.simulator.wire import Event, error_body

SSE_HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache")]


def json_message(status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[Message, bytes]:
    body = json.dumps(payload).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    return {"type": "http.response.start", "status": status, "headers": raw}, body


async def _until_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        continue
    scope.cancel()


class CompletionResponse(Response):
    """An ASGI response for one completion: `events` when streaming, else `body` (the JSON).

    A Starlette `Response` only so routes can return it; it sends everything itself."""

    def __init__(
        self,
        controls: Controls,
        fault: str | None,
        request_id: str,
        events: list[Event] | None = None,
        body: bytes = b"",
        generated_chars: int = 0,
    ) -> None:
        super().__init__()
        self.controls = controls
        self.fault = fault
        self.request_id = request_id
        self.events = events
        self.body = body
        self.generated_chars = generated_chars

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        completed = True
        async with anyio.create_task_group() as group:
            group.start_soon(_until_disconnect, receive, group.cancel_scope)
            completed = await self._deliver(send)
            group.cancel_scope.cancel()
        if not completed:
            # Raised outside the task group so it is not wrapped in an ExceptionGroup.
            raise SimulatedCut(f"simulated cut of {self.request_id}")

    def _seconds_for(self, chars: float) -> float:
        tps = self.controls.tokens_per_s
        return chars / 4 / tps if tps > 0 else 0.0

    async def _deliver(self, send: Send) -> bool:
        """Send the response; False when it stopped on a `cut` and the connection must drop."""
        if self.fault == "timeout":
            await asyncio.sleep(self.controls.stall_s)
            error = ERROR_FAULTS["timeout"]
            start, body = json_message(error.status, error_body(error.message, error.type, error.code))
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return True
        await asyncio.sleep(max(0.0, self.controls.ttft_ms) / 1000)
        if self.events is None:
            return await self._deliver_json(send)
        return await self._deliver_stream(send, self.events)

    async def _deliver_json(self, send: Send) -> bool:
        wait = self._seconds_for(self.generated_chars) + (self.controls.stall_s if self.fault == "stall" else 0.0)
        await asyncio.sleep(wait)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.body)).encode()),
            (b"x-request-id", self.request_id.encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if self.fault == "cut":
            await send({"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True})
            return False
        await send({"type": "http.response.body", "body": self.body})
        return True

    async def _deliver_stream(self, send: Send, events: list[Event]) -> bool:
        headers = [*SSE_HEADERS, (b"x-request-id", self.request_id.encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        generated = [i for i, event in enumerate(events) if event.chars > 0]
        # "Some tokens, then...": the fault strikes after the first half of the generated events.
        strike_at = generated[max(1, len(generated) // 2)] if len(generated) > 1 else 1
        started = time.monotonic()
        chars_sent = 0
        for index, event in enumerate(events):
            if index == strike_at and self.fault == "cut":
                return False
            if index == strike_at and self.fault == "stall":
                await asyncio.sleep(self.controls.stall_s)
                started += self.controls.stall_s
            delay = started + self._seconds_for(chars_sent) - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await send({"type": "http.response.body", "body": event.data, "more_body": True})
            chars_sent += event.chars
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return True
