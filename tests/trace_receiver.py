"""A real HTTP server standing in for an OTLP collector and for LangSmith: it keeps what it is sent.

`POST /v1/traces` takes OTLP/HTTP protobuf (`ExportTraceServiceRequest`); `GET /info`,
`POST /runs/multipart` and `POST /runs/batch` are the LangSmith client's tracing calls.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

T = TypeVar("T")


@dataclass(frozen=True)
class Span:
    name: str
    trace_id: str
    span_id: str
    parent_id: str  # "" for a root span
    kind: int  # opentelemetry.proto SpanKind: 2 is SERVER
    attributes: dict[str, Any]
    service: str


@dataclass
class Received:
    spans: list[Span] = field(default_factory=list)
    langsmith_runs: list[dict[str, Any]] = field(default_factory=list)  # posted and patched runs
    requests: list[str] = field(default_factory=list)  # "METHOD /path"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, find: Callable[[Received], T | None], timeout_s: float = 15.0) -> T:
        deadline = time.monotonic() + timeout_s
        while True:
            with self.lock:
                found = find(self)
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"not received in {timeout_s}s; requests: {self.requests[-20:]}")
            time.sleep(0.05)


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def _spans(body: bytes) -> list[Span]:
    request = ExportTraceServiceRequest.FromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    Span(
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_id=span.parent_span_id.hex(),
                        kind=span.kind,
                        attributes={a.key: _value(a.value) for a in span.attributes},
                        service=str(resource.get("service.name")),
                    )
                )
    return spans


def _multipart_runs(content_type: str, body: bytes) -> list[dict[str, Any]]:
    """Each run of a multipart upload: part `post.<id>` (or `patch.<id>`) merged with its fields sent
    as parts of their own (`post.<id>.extra`, `.inputs`, `.outputs`, ...)."""
    message = BytesParser(policy=policy.HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    runs: dict[str, dict[str, Any]] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition") or ""
        operation, _, rest = name.partition(".")
        run_id, _, field_name = rest.partition(".")
        if operation not in ("post", "patch") or not run_id:
            continue  # attachments, feedback
        run = runs.setdefault(f"{operation}.{run_id}", {})
        value = json.loads(part.get_payload(decode=True))
        if field_name:
            run[field_name] = value
        else:
            run.update(value)
    return list(runs.values())


class _Handler(BaseHTTPRequestHandler):
    received: Received

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        with self.received.lock:
            self.received.requests.append(f"GET {self.path}")
        if self.path.startswith("/info"):
            self._answer(200, b'{"version": "test"}')
        else:
            self._answer(404, b"{}")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path.split("?")[0]
        with self.received.lock:
            self.received.requests.append(f"POST {path}")
            if path == "/v1/traces":
                self.received.spans.extend(_spans(body))
                self._answer(200, ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf")
                return
            if path == "/runs/multipart":
                self.received.langsmith_runs.extend(_multipart_runs(self.headers["Content-Type"], body))
            elif path == "/runs/batch":
                batch = json.loads(body)
                self.received.langsmith_runs.extend([*batch.get("post", []), *batch.get("patch", [])])
        self._answer(202, b"{}")

    def do_PATCH(self) -> None:
        self.do_POST()


@contextmanager
def trace_receiver() -> Iterator[tuple[str, Received]]:
    """Start the receiver on a free loopback port; yield its base URL and what it gets."""
    received = Received()
    handler = type("Handler", (_Handler,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
