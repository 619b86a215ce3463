"""Runs execute as tasks owned by the server, not by the HTTP request that started them.

`RunExecutor` takes a run record, runs the graph, appends every event to the run's
event log, and keeps the run and thread records true: pending -> running -> a final
status. One run per thread executes at a time (the `enqueue` strategy); others wait
their turn in arrival order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, aclosing, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.errors import GraphRecursionError, InvalidUpdateError
from langgraph.pregel import Pregel
from langgraph.types import All, Command, Durability
from opentelemetry.trace import SpanContext

from infra import logs, tracing
from infra.jsonwire import dumps, to_jsonable
from infra.keyed_lock import KeyedLock
from infra.persistence.events import EventLog
from infra.persistence.records import RecordStore, RunRecord, now
from server.run_telemetry import RunTelemetry
from server.sse import PartEncoder, graph_stream_modes

log = logging.getLogger("switchyard.runs")

# Exceptions whose class and message are safe and useful to show a client.
_PUBLIC_ERRORS = (GraphRecursionError, InvalidUpdateError)


CancelAction = Literal["interrupt", "rollback"]
# Event ids of attempt N start at (N - 1) * ATTEMPT_ID_SPAN + 1: later attempts always sort after.
ATTEMPT_ID_SPAN = 1_000_000_000


@dataclass
class RunRequest:
    """What the executor needs beyond the run record, already validated by the API."""

    graph: Pregel[Any, Any, Any, Any]
    graph_input: Any
    config: RunnableConfig
    context: dict[str, Any] | None
    modes: list[str]
    subgraphs: bool = False
    interrupt_before: All | list[str] | None = None
    interrupt_after: All | list[str] | None = None
    durability: Durability | None = None
    # Called after the run's outcome is recorded (stateless runs delete their thread).
    after: Callable[[], Awaitable[None]] | None = None
    # The span of the request that submitted the run (tracing on): the run's span is its child.
    trace_parent: SpanContext | None = None


def public_error(exc: BaseException) -> dict[str, str]:
    code = getattr(exc, "code", None)
    if isinstance(exc, _PUBLIC_ERRORS) or isinstance(code, str):
        return {"error": type(exc).__name__, "message": str(exc)}
    return {"error": "InternalError", "message": "The run failed unexpectedly; see the server log."}


def cancelled(why: str) -> dict[str, str]:
    """The failure recorded for a run stopped before its end."""
    return {"error": "Cancelled", "message": why}


def _annotate_route(run_id: str, update: Any) -> None:
    """Once the `route` node's update passes by, the run's log records carry its `intent` and `tier`."""
    written = update.get("route") if isinstance(update, dict) else None
    decision = written.get("route") if isinstance(written, dict) else None
    if isinstance(decision, dict):
        logs.annotate_run(run_id, intent=decision.get("intent"), tier=decision.get("tier"))


class ThreadBusy(Exception):
    """The thread has a run executing or queued, and the new run asked not to wait (`reject`)."""


@asynccontextmanager
async def _both(
    first: AbstractAsyncContextManager[Any], second: AbstractAsyncContextManager[Any]
) -> AsyncIterator[None]:
    async with first, second:
        yield


class RunExecutor:
    # Exceptions meaning a shared store is unreachable: the run stops without an outcome and is retried.
    unavailable: tuple[type[BaseException], ...] = ()

    def __init__(
        self, records: RecordStore, events: EventLog, max_running: int = 64, thread_events: EventLog | None = None
    ) -> None:
        self.records = records
        self.events = events
        # Each thread's own stream: its runs' frames, run_done after each, its state after each.
        self.thread_events = thread_events
        self._running = asyncio.Semaphore(max_running)
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._cancelled: dict[str, str] = {}  # a CancelAction, or "abandon": handed to another process
        self._threads = KeyedLock()
        # Runs whose `_execute` has begun: a cancel interrupts those; others see the flag when they begin.
        self._started: set[str] = set()
        self._stopping = False

    async def submit(self, run: RunRecord, request: RunRequest, *, reject_if_busy: bool = False) -> None:
        """Queue the run behind its thread's others. `reject_if_busy`: raise `ThreadBusy` instead
        when the thread has a run executing or queued."""
        if reject_if_busy and await self.unfinished_on_thread(run.thread_id):
            raise ThreadBusy(run.thread_id)
        await self.announce(run)
        request.trace_parent = tracing.current_span_context()
        task = asyncio.create_task(self._execute(run, request), name=run.thread_id)
        self._track(run.run_id, task)

    async def announce(self, run: RunRecord) -> None:
        """Start the log of the run's attempt with its `metadata` event."""
        await self.events.begin(run.run_id, first_id=(run.attempt - 1) * ATTEMPT_ID_SPAN + 1)
        await self._emit(run, "metadata", dumps({"run_id": run.run_id, "attempt": run.attempt}))

    def _track(self, run_id: str, task: asyncio.Task[Any]) -> None:
        self._tasks[run_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(run_id, None))

    async def wait(self, run_id: str) -> Any:
        """The run's final values (or `{"__error__": ...}`); None if it is not running here."""
        task = self._tasks.get(run_id)
        return None if task is None else await asyncio.shield(task)

    async def unfinished_on_thread(self, thread_id: str) -> list[str]:
        """Runs of the thread executing or queued, oldest first."""
        return [run_id for run_id, task in self._tasks.items() if task.get_name() == thread_id and not task.done()]

    async def cancel(self, run_id: str, action: CancelAction = "interrupt") -> bool:
        """Stop a run. `interrupt` keeps the steps it completed; `rollback` deletes them and the run."""
        return self._cancel_local(run_id, action)

    def _cancel_local(self, run_id: str, action: str) -> bool:
        task = self._tasks.get(run_id)
        if task is None or task.done():
            return False
        self._cancelled[run_id] = action
        if run_id in self._started:
            task.cancel()
        return True

    async def shutdown(self) -> None:
        self._stopping = True
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    def _slot(self, run: RunRecord) -> AbstractAsyncContextManager[Any]:
        """What a run holds while it executes: its thread (one run at a time) and a running slot."""
        return _both(self._threads.hold(run.thread_id), self._running)

    async def _execute(self, run: RunRecord, request: RunRequest) -> Any:
        """Run to an outcome, whatever happens: success, error, or cancelled (even while queued).

        A run handed to another process (action `abandon`) records nothing: its new owner does."""
        # Its log records, and its nodes' (tasks started inside inherit the context), carry the run and thread.
        with logs.run_context(run.run_id, run.thread_id), RunTelemetry(run, request) as telemetry:
            failure: dict[str, str] | None = None
            self._started.add(run.run_id)
            try:
                if run.run_id in self._cancelled:
                    raise asyncio.CancelledError  # cancelled before it began
                async with self._slot(run):
                    with telemetry.running():
                        failure = await self._stream(run, request)
                status = "success" if failure is None else "error"
            except asyncio.CancelledError:
                if self._cancelled.get(run.run_id) == "abandon":
                    del self._cancelled[run.run_id]
                    raise
                # Our own task: record the outcome, then let the task end normally.
                status = "error" if self._stopping else "interrupted"
                failure = cancelled(
                    "the server shut down during the run" if self._stopping else "the run was cancelled"
                )
            finally:
                self._started.discard(run.run_id)
            return await self._conclude(run, request, status, failure, telemetry)

    async def _conclude(
        self,
        run: RunRecord,
        request: RunRequest,
        status: str,
        failure: dict[str, str] | None,
        telemetry: RunTelemetry | None = None,
    ) -> Any:
        """Record the outcome, end the run's log and tell its thread's stream; the run's result."""
        try:
            if self._cancelled.pop(run.run_id, None) == "rollback":
                values = await self._roll_back(run, request)
            else:
                values = await self._finish(run, request, status, failure)
            # A run concluded without executing here (cancelled in the shared queue) is still counted.
            (telemetry or RunTelemetry(run, request)).finish(status, values)
            await self.events.append(run.run_id, "end", b"null")
            if self.thread_events is not None:
                done = dumps({"status": "run_done", "run_id": run.run_id, "run_status": status})
                await self.thread_events.append(run.thread_id, "metadata", done, "lifecycle")
                await self.thread_events.append(run.thread_id, "values", dumps(values), "state")
            if request.after is not None:
                await request.after()
        finally:
            await self.events.close(run.run_id)
        return {"__error__": failure} if status == "error" else values

    async def _emit(self, run: RunRecord, event: str, data: bytes) -> None:
        """An event of the run, on its own log and on its thread's."""
        await self.events.append(run.run_id, event, data)
        if self.thread_events is not None:
            kind = "lifecycle" if event == "metadata" else "run"
            await self.thread_events.append(run.thread_id, event, data, kind)

    async def _stream(self, run: RunRecord, request: RunRequest) -> dict[str, str] | None:
        """Mark the run running and stream the graph into the event log; the failure, if any."""
        thread = await self.records.get_thread(run.thread_id)
        run.status, run.updated_at = "running", now()
        if thread is not None:
            thread.status, thread.updated_at = "busy", now()
        await self.records.put_run(run, thread)
        encoder = PartEncoder(request.modes)
        parts: AsyncGenerator[Any, None] = request.graph.astream(  # type: ignore[assignment]
            request.graph_input,
            request.config,
            context=request.context,
            stream_mode=graph_stream_modes([*request.modes, "updates"]),  # updates: the route, for the logs
            subgraphs=request.subgraphs,
            interrupt_before=request.interrupt_before,
            interrupt_after=request.interrupt_after,
            durability=request.durability,
            version="v2",
        )
        try:
            async with aclosing(parts):  # however the loop ends, the graph's tasks are cleaned up now
                async for part in parts:
                    for event, data in encoder.encode(part):
                        await self._emit(run, event, data)
                    if part["type"] == "updates":
                        _annotate_route(run.run_id, part["data"])
                    if run.run_id in self._cancelled:
                        # Cancelled, though the task never saw it: a library may swallow a cancel (Python
                        # 3.11's `asyncio.wait_for`, which redis-py uses when a socket timeout is set,
                        # loses one that lands as the command completes), so look after every step.
                        raise asyncio.CancelledError
        except self.unavailable:
            raise  # the stores are down: the run is retried, not failed (scale-out)
        except Exception as exc:
            log.exception("run failed", extra={"run_id": run.run_id, "thread_id": run.thread_id})
            failure = public_error(exc)
            await self._emit(run, "error", dumps(failure))
            return failure
        return None

    async def _roll_back(self, run: RunRecord, request: RunRequest) -> Any:
        """A rolled-back run leaves no trace: its checkpoints and its record go."""
        checkpointer = request.graph.checkpointer
        if checkpointer is not None and not isinstance(checkpointer, bool):
            await checkpointer.adelete_for_runs([run.run_id])
        await self.records.delete_run(run.run_id)
        thread, values = await self._settle_thread(run, request, "interrupted")
        if thread is not None:
            await self.records.put_thread(thread)
        log.info("run %s rolled back", run.run_id, extra={"run_id": run.run_id, "thread_id": run.thread_id})
        return values

    async def _settle_thread(self, run: RunRecord, request: RunRequest, status: str) -> tuple[Any, Any]:
        """The thread record brought up to date with its latest checkpoint; and its values."""
        thread = await self.records.get_thread(run.thread_id)
        state = await request.graph.aget_state({"configurable": {"thread_id": run.thread_id}})
        values = to_jsonable(state.values)
        if thread is not None:
            interrupts: dict[str, list[Any]] = {}
            for task in state.tasks:
                if task.interrupts:
                    interrupts[task.id] = to_jsonable(list(task.interrupts))
            thread.values = values
            thread.interrupts = interrupts
            paused = interrupts or (status == "success" and state.next)
            thread.status = "error" if status == "error" else "interrupted" if paused else "idle"
            thread.updated_at = now()
        return thread, values

    async def _finish(self, run: RunRecord, request: RunRequest, status: str, failure: dict[str, str] | None) -> Any:
        """Record the outcome on the run and its thread; return the thread's values."""
        run.status, run.updated_at = status, now()  # type: ignore[assignment]
        run.error = failure["message"] if failure else None
        thread, values = await self._settle_thread(run, request, status)
        await self.records.put_run(run, thread)
        usage = values.get("usage") if isinstance(values, dict) else None
        log.info(
            "run %s finished: %s",
            run.run_id,
            status,
            extra={"run_id": run.run_id, "thread_id": run.thread_id, "status": status, "usage": usage},
        )
        if usage and usage.get("calls"):
            log.info(
                "run %s LLM usage: %s calls, %s prompt + %s completion tokens, $%.6f",
                run.run_id,
                usage["calls"],
                usage["prompt_tokens"],
                usage["completion_tokens"],
                usage["cost_usd"],
            )
        return values


def graph_input(body_input: Any, command: dict[str, Any] | None) -> Any:
    if command:
        return Command(**{k: v for k, v in command.items() if v is not None})
    return body_input
