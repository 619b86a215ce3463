"""HTTP telemetry: request latency by route template, a span per request, and `GET /metrics`."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from fastapi import APIRouter, Request, Response
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra import metrics, tracing

log = logging.getLogger("switchyard.server")
router = APIRouter(tags=["meta"])

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def scrape(request: Request) -> Response:
    """Prometheus metrics: of this process, or summed over every `--workers` process."""
    services = getattr(request.app.state, "services", None)
    if services is not None:  # the breaker's state as of now: open turns half-open by the clock alone
        await services.llm.breakers.for_endpoint(services.llm.endpoint).refresh()
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE_LATEST)


StreamKind = Literal["run", "thread"]


@contextmanager
def sse_stream(kind: StreamKind) -> Iterator[None]:
    """Counts an SSE stream as open while its frames generator runs."""
    gauge = metrics.SSE_STREAMS.labels(kind)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


class RequestTelemetry:
    """Times each HTTP request by method, route template and status; with tracing on, a server span.

    Registered innermost, next to the router, whose matched route it reads from the scope
    (`scope["route"].path`, e.g. `/threads/{thread_id}/runs`; `unmatched` for a 404): a raw
    path would make a label per thread. An SSE response is timed to its first byte (a stream
    may stay open for hours); the span covers the whole exchange.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts: an exception escaping here becomes a 500
        timed = False

        async def timing_send(message: Message) -> None:
            nonlocal status, timed
            if message["type"] == "http.response.start":
                status = message["status"]
                if _is_event_stream(message):
                    timed = True
                    self._observe(scope, status, started)
            await send(message)

        tracer = tracing.tracer()
        span = None if tracer is None else _server_span(tracer, scope)
        try:
            if span is None:
                await self.app(scope, receive, timing_send)
            else:
                with trace.use_span(span, end_on_exit=False):
                    await self.app(scope, receive, timing_send)
        finally:
            if not timed:
                self._observe(scope, status, started)
            if span is not None:
                _end_span(span, scope, status)

    @staticmethod
    def _observe(scope: Scope, status: int, started: float) -> None:
        method = scope["method"] if scope["method"] in _METHODS else "other"
        metrics.HTTP_REQUEST_SECONDS.labels(method, _route(scope), str(status)).observe(time.perf_counter() - started)


def _server_span(tracer: trace.Tracer, scope: Scope) -> trace.Span:
    carrier = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
    return tracer.start_span(
        scope["method"],  # renamed once the route is known
        context=propagate.extract(carrier),  # a caller's `traceparent` makes this its child
        kind=SpanKind.SERVER,
        attributes={"http.request.method": scope["method"], "url.path": scope["path"]},
    )


def _end_span(span: trace.Span, scope: Scope, status: int) -> None:
    route = _route(scope)
    span.update_name(f"{scope['method']} {route}")
    span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))
    span.end()


def _route(scope: Scope) -> str:
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else "unmatched"


def _is_event_stream(message: Message) -> bool:
    for name, value in message.get("headers", ()):
        if name.lower() == b"content-type":
            return bool(value.startswith(b"text/event-stream"))
    return False


@contextmanager
def process_telemetry() -> Iterator[None]:
    """For the app's lifetime: tracing if configured; in multiprocess mode, this process's live
    gauges (and those of processes that died unannounced) leave the scrape when it ends."""
    metrics.forget_dead_processes()
    if tracing.start():
        log.info("tracing: OTLP spans to %s", tracing.endpoint())
    try:
        yield
    finally:
        tracing.stop()
        metrics.forget_this_process()
