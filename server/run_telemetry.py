"""A run's telemetry: its state gauges, duration and outcome, its span, and a span and timing per node.

`RunTelemetry` follows one run through the executor (pending -> running -> outcome);
`NodeTelemetry` is the LangChain callback handler in the run's config (`run_config`) that
times the graph's node tasks. With tracing on, the run span is a child of the HTTP request
that submitted the run (embedded mode; in scale-out the run may execute in another process
and starts its own trace) and each node span a child of the run span.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langgraph.errors import GraphBubbleUp
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, Span, Status, StatusCode

from infra import metrics, tracing
from infra.persistence.records import RunRecord

if TYPE_CHECKING:
    from server.execution import RunRequest


def graph_label(run: RunRecord) -> str:
    return str(run.metadata.get("graph_id") or "unknown")


def _route(values: Any) -> tuple[str, str]:
    """The run's intent and tier, from its final state's `route`; "none" when it has none."""
    route = values.get("route") if isinstance(values, Mapping) else None
    if not isinstance(route, Mapping):
        return "none", "none"
    return str(route.get("intent") or "none"), str(route.get("tier") or "none")


class RunTelemetry:
    """Use as a context manager around the whole execution of a run: whatever way it ends
    (an outcome, a hand-off to another process, an unreachable store), the gauges come back
    down and the span ends."""

    def __init__(self, run: RunRecord, request: RunRequest) -> None:
        self.graph = graph_label(run)
        self._state: str | None = None
        self._running_since: float | None = None
        self._move("pending")
        self.span: Span | None = None
        tracer = tracing.tracer()
        if tracer is not None:
            parent = request.trace_parent
            # No parent: a root span, whatever context this task inherited.
            context = trace.set_span_in_context(NonRecordingSpan(parent)) if parent else otel_context.Context()
            attributes = {"switchyard.run_id": run.run_id, "switchyard.thread_id": run.thread_id}
            self.span = tracer.start_span(f"run {self.graph}", context=context, attributes=attributes)
            self.span.set_attribute("switchyard.graph", self.graph)
            self.span.set_attribute("switchyard.attempt", run.attempt)

    def __enter__(self) -> RunTelemetry:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._state is not None:  # no outcome was recorded: handed to another process, or the store failed
            self._end("handed_off")

    @contextmanager
    def running(self) -> Iterator[None]:
        """While the graph executes: counted as running, and its span is the current one (the nodes' parent)."""
        self._move("running")
        self._running_since = time.perf_counter()
        token = None if self.span is None else otel_context.attach(trace.set_span_in_context(self.span))
        try:
            yield
        finally:
            if token is not None:
                otel_context.detach(token)
            self._move("concluding")

    def finish(self, status: str, values: Any) -> None:
        """The run's outcome is recorded: count it, time it, and end its span."""
        intent, tier = _route(values)
        metrics.RUNS_FINISHED.labels(self.graph, status).inc()
        if self._running_since is not None:
            elapsed = time.perf_counter() - self._running_since
            metrics.RUN_SECONDS.labels(self.graph, intent, tier).observe(elapsed)
        if self.span is not None:
            self.span.set_attribute("switchyard.intent", intent)
            self.span.set_attribute("switchyard.tier", tier)
        self._end(status)

    def _end(self, status: str) -> None:
        self._move(None)
        if self.span is not None:
            self.span.set_attribute("switchyard.status", status)
            if status == "error":
                self.span.set_status(Status(StatusCode.ERROR))
            self.span.end()

    def _move(self, state: str | None) -> None:
        """Between the gauges: pending and running are counted, other states are not."""
        if self._state in ("pending", "running"):
            metrics.RUNS_ACTIVE.labels(self.graph, self._state).dec()
        if state in ("pending", "running"):
            metrics.RUNS_ACTIVE.labels(self.graph, state).inc()
        self._state = state


class NodeTelemetry(BaseCallbackHandler):
    """Times each node task of one run and, with tracing on, gives it a span.

    LangGraph starts a node task as a chain run named after the node, with metadata
    `langgraph_node` = that name and the graph's root run as parent
    (`langgraph.pregel._algo.prepare_single_task`, `RunnableSeq`). The node's function
    runs inside it as a second chain run with the same name and metadata but the task as
    its parent, and a subgraph's nodes have the subgraph's run as parent: parentage tells
    the task apart from both. Called inline (no thread hop), in the node's own asyncio task,
    where the run span is current.
    """

    run_inline = True

    def __init__(self, graph: str) -> None:
        self.graph = graph
        self._root: UUID | None = None
        self._nodes: dict[UUID, tuple[str, float, Span | None]] = {}

    @property
    def ignore_llm(self) -> bool:
        return True

    @property
    def ignore_chat_model(self) -> bool:
        return True

    @property
    def ignore_retriever(self) -> bool:
        return True

    @property
    def ignore_agent(self) -> bool:
        return True

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if parent_run_id is None:
            self._root = run_id  # the graph itself
            return
        node = (metadata or {}).get("langgraph_node")
        if parent_run_id != self._root or node is None or kwargs.get("name") != node:
            return
        name, tracer = str(node), tracing.tracer()
        span = None
        if tracer is not None:
            span = tracer.start_span(name, attributes={"switchyard.node": name, "switchyard.graph": self.graph})
        self._nodes[run_id] = (name, time.perf_counter(), span)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, None)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error)

    def _end(self, run_id: UUID, error: BaseException | None) -> None:
        started = self._nodes.pop(run_id, None)
        if started is None:
            return
        node, since, span = started
        metrics.NODE_SECONDS.labels(self.graph, node).observe(time.perf_counter() - since)
        if span is not None:
            if isinstance(error, GraphBubbleUp):  # an interrupt (human approval) or a handed-on command
                span.set_attribute("switchyard.status", "interrupted")
            elif error is not None:
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            span.end()
