"""OpenTelemetry tracing, on only when an OTLP endpoint is configured.

The standard variables decide: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (a full URL) or
`OTEL_EXPORTER_OTLP_ENDPOINT` (a base URL; `/v1/traces` is appended) turn it on, spans go
there as OTLP over HTTP/protobuf in batches, and the service is `OTEL_SERVICE_NAME` or
`switchyard`. `OTEL_SDK_DISABLED=true` keeps it off. With no endpoint the SDK is never
imported and `tracer()` is None, which every caller checks first: tracing off costs one
global read per request, run and node.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanContext, Tracer

_tracer: Tracer | None = None
_provider: Any = None  # the SDK's TracerProvider, when on


def configured() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def endpoint() -> str:
    """Where spans go, as configured."""
    explicit = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    return explicit or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").rstrip("/") + "/v1/traces"


def start(exporter: Any = None) -> bool:
    """Set up the SDK for this process if an endpoint is configured; whether tracing is on.
    `exporter` (a `SpanExporter`) replaces the OTLP one and turns tracing on regardless (benchmarks)."""
    global _tracer, _provider
    if _tracer is not None or (exporter is None and not configured()):
        return _tracer is not None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME") or "switchyard"})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter or OTLPSpanExporter()))
    # Deliberately not the global provider: FastAPI (0.16x) would then add its own request span and
    # a span per dependency and serialization step to every request, beside ours.
    _provider, _tracer = provider, provider.get_tracer("switchyard")
    return True


def stop() -> None:
    """Export what is buffered and stop (at shutdown)."""
    global _tracer, _provider
    provider, _provider, _tracer = _provider, None, None
    if provider is not None:
        provider.shutdown()


def tracer() -> Tracer | None:
    """The tracer, or None when tracing is off."""
    return _tracer


def current_span_context() -> SpanContext | None:
    """The span this code runs in (e.g. an HTTP request's), to parent work done elsewhere; None when off."""
    if _tracer is None:
        return None
    context = trace.get_current_span().get_span_context()
    return context if context.is_valid else None
