"""Runs: stream, wait, background; list, get, join; re-attach to a run's stream.

A run is created here and handed to the `RunExecutor`; the HTTP response only
follows the run's event log, so a client that disconnects does not stop the run
(unless it asked for `on_disconnect: cancel`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.responses import JSONResponse
from langchain_core.utils.uuid import uuid7
from redis.exceptions import RedisError
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.background import BackgroundTask

from infra.jsonwire import dumps, loads
from infra.persistence.events import UnknownEventId, parse_event_id
from infra.persistence.records import FINAL_RUN_STATUSES, RunRecord, now
from server import views
from server.api.threads import existing_thread, new_thread, owned, taken, valid_thread_id
from server.errors import STORE_UNAVAILABLE, ApiError, Conflict, NotFound, Unprocessable
from server.execution import CancelAction, ThreadBusy
from server.hitl import validate_resume
from server.limits import StreamSlot
from server.run_requests import build_request, refuse_long_messages, refuse_unsupported
from server.schemas import MAX_OFFSET, RunCreate
from server.services import Services, caller
from server.sse import STREAM_MODES, frame
from server.telemetry import StreamKind, sse_stream

router = APIRouter(tags=["runs"])


async def start_run(s: Services, thread_id: str | None, body: RunCreate, *, stateless: bool = False) -> RunRecord:
    refuse_unsupported(body)
    refuse_long_messages(body, s.settings.max_message_chars)
    graph_id = s.graph_id(body.assistant_id)
    if thread_id is None:
        thread = await new_thread(s)
    else:
        thread_id = valid_thread_id(thread_id)
        stored = await s.records.get_thread(thread_id)
        found = owned(s, stored)
        if found is None:
            if body.if_not_exists != "create":
                raise NotFound(f"Thread '{thread_id}' not found.", code="thread_not_found")
            if stored is not None:  # another tenant's
                raise taken(thread_id)
        thread = found or await new_thread(s, thread_id)
    if body.multitask_strategy == "reject" and await s.executor.unfinished_on_thread(thread.thread_id):
        raise Conflict("Thread is already running a run; multitask_strategy is 'reject'.", code="thread_busy")
    if body.command is not None and body.command.resume is not None:
        if thread.status != "interrupted":
            raise Conflict(
                "The thread is not waiting for input; there is nothing to resume.", code="thread_not_interrupted"
            )
        validate_resume(thread.interrupts, body.command.resume)
    if s.principal is not None:  # the last check: a refused request costs nothing, nothing has changed yet
        await s.limits.admit_run(s.principal.key_id)

    if body.multitask_strategy in ("interrupt", "rollback"):
        # The runs already there stop; the new one then takes the thread (they hold its lock until done).
        for active in await s.executor.unfinished_on_thread(thread.thread_id):
            await s.executor.cancel(active, body.multitask_strategy)
    aid = views.assistant_id(graph_id)
    thread.metadata = {**thread.metadata, "graph_id": graph_id, "assistant_id": aid}
    run = RunRecord(
        run_id=str(uuid7()),
        thread_id=thread.thread_id,
        assistant_id=aid,
        metadata={**(body.metadata or {}), "graph_id": graph_id, "assistant_id": aid},
        kwargs={**loads(dumps(body.model_dump(exclude_none=True))), "stateless": stateless},
        multitask_strategy=body.multitask_strategy,
    )
    thread.updated_at = now()
    await s.records.put_run(run, thread)
    request = build_request(s, graph_id, run, body, stateless=stateless)
    try:
        await s.executor.submit(run, request, reject_if_busy=body.multitask_strategy == "reject")
    except ThreadBusy:  # another process queued a run on the thread since the check above
        await s.records.delete_run(run.run_id)
        raise Conflict("Thread is already running a run; multitask_strategy is 'reject'.", code="thread_busy") from None
    return run


def _run_paths(run: RunRecord) -> dict[str, str]:
    base = f"/threads/{run.thread_id}/runs/{run.run_id}"
    return {"Location": f"{base}/stream", "Content-Location": base}


async def _frames(
    s: Services, run: RunRecord, after: str | None, with_ids: bool, on_disconnect: str, modes: set[str] | None
) -> AsyncIterator[bytes]:
    finished = False
    try:
        async for event in s.events.follow(run.run_id, after):
            finished = event.event == "end"
            base = event.event.split("|", 1)[0].split("/", 1)[0]
            if modes is None or base in modes or event.event in ("metadata", "error", "end"):
                yield frame(event.event, event.data, event.id if with_ids else None)
        if not finished and not await s.events.has(run.run_id):
            # The log is gone (expired, or the run predates this process): say the stream is over.
            yield frame("end", b"null")
            finished = True
    except RedisError:
        # The run goes on (or is retried); the client may rejoin with its Last-Event-ID.
        finished = True  # the client did not leave: do not cancel
        yield frame("error", dumps({"error": "StoreUnavailable", "message": STORE_UNAVAILABLE}))
    finally:
        if not finished and on_disconnect == "cancel":
            await s.executor.cancel(run.run_id)


async def stream_slot(s: Services) -> StreamSlot:
    """One of the caller's stream slots (429 `too_many_streams` when all are held); the response releases it."""
    return await s.limits.open_stream(s.principal.key_id) if s.principal else StreamSlot()


def event_stream(s: Services, run: RunRecord, frames: AsyncIterator[bytes], slot: StreamSlot) -> EventSourceResponse:
    return sse_response(s, frames, _run_paths(run), slot, "run")


def sse_response(
    s: Services, frames: AsyncIterator[bytes], headers: dict[str, str], slot: StreamSlot, kind: StreamKind
) -> EventSourceResponse:
    async def released() -> AsyncIterator[bytes]:
        try:
            with sse_stream(kind):
                async for chunk in frames:
                    yield chunk
        finally:
            await slot.release()

    return EventSourceResponse(
        released(),
        headers={**headers, "Cache-Control": "no-store"},
        ping=s.settings.heartbeat_seconds,
        sep="\n",
        ping_message_factory=lambda: ServerSentEvent(comment="heartbeat", sep="\n"),
        # Runs even when the client left before the first frame, so the slot never leaks.
        background=BackgroundTask(slot.release),
    )


async def _final_values(s: Services, run: RunRecord) -> Any:
    result = await s.executor.wait(run.run_id)
    if result is not None:
        return result
    finished = await s.records.get_run(run.run_id) or run
    if finished.status == "error":
        return {"__error__": {"error": "RunError", "message": finished.error or "The run failed."}}
    thread = await s.records.get_thread(run.thread_id)
    return thread.values if thread else None


@router.post("/threads/{thread_id}/runs/stream")
async def stream(thread_id: str, body: RunCreate, s: Services = Depends(caller)) -> EventSourceResponse:
    return await _streamed_run(s, thread_id, body)


@router.post("/runs/stream")
async def stream_stateless(body: RunCreate, s: Services = Depends(caller)) -> EventSourceResponse:
    return await _streamed_run(s, None, body)


async def _streamed_run(s: Services, thread_id: str | None, body: RunCreate) -> EventSourceResponse:
    """Start a run and stream it; the stream slot comes first, so a refused stream starts no run."""
    slot = await stream_slot(s)
    try:
        run = await start_run(s, thread_id, body, stateless=thread_id is None)
    except BaseException:
        await slot.release()
        raise
    return event_stream(s, run, _frames(s, run, None, body.stream_resumable, body.on_disconnect, None), slot)


@router.post("/threads/{thread_id}/runs/wait")
async def wait(thread_id: str, body: RunCreate, s: Services = Depends(caller)) -> Response:
    run = await start_run(s, thread_id, body)
    values = await _final_values(s, run)
    paths = _run_paths(run)
    headers = {"Location": paths["Content-Location"] + "/join", "Content-Location": paths["Content-Location"]}
    return Response(dumps(values), media_type="application/json", headers=headers)


@router.post("/runs/wait")
async def wait_stateless(body: RunCreate, s: Services = Depends(caller)) -> Response:
    run = await start_run(s, None, body, stateless=True)
    return Response(dumps(await s.executor.wait(run.run_id)), media_type="application/json")


@router.post("/threads/{thread_id}/runs")
async def create(thread_id: str, body: RunCreate, s: Services = Depends(caller)) -> JSONResponse:
    run = await start_run(s, thread_id, body)
    return JSONResponse(views.run(run), headers={"Content-Location": _run_paths(run)["Content-Location"]})


async def _existing_run(s: Services, thread_id: str, run_id: str) -> RunRecord:
    await existing_thread(s, thread_id)
    run = await s.records.get_run(run_id)
    if run is None or run.thread_id != thread_id:
        raise NotFound(f"Run '{run_id}' not found.", code="run_not_found")
    return run


@router.get("/threads/{thread_id}/runs")
async def list_runs(
    thread_id: str,
    limit: int = Query(10, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    status: str | None = None,
    s: Services = Depends(caller),
) -> list[dict[str, Any]]:
    thread = await existing_thread(s, thread_id)
    return [
        views.run(r) for r in await s.records.list_runs(thread.thread_id, limit=limit, offset=offset, status=status)
    ]


@router.get("/threads/{thread_id}/runs/{run_id}")
async def get(thread_id: str, run_id: str, s: Services = Depends(caller)) -> dict[str, Any]:
    return views.run(await _existing_run(s, thread_id, run_id))


@router.get("/threads/{thread_id}/runs/{run_id}/join")
async def join(thread_id: str, run_id: str, s: Services = Depends(caller)) -> Response:
    run = await _existing_run(s, thread_id, run_id)
    return Response(dumps(await _final_values(s, run)), media_type="application/json")


@router.post("/threads/{thread_id}/runs/{run_id}/cancel")
async def cancel(
    thread_id: str,
    run_id: str,
    wait: bool = False,
    action: CancelAction = "interrupt",
    s: Services = Depends(caller),
) -> dict[str, Any]:
    """Stop a pending or running run: `interrupt` keeps its completed steps, `rollback` deletes them
    and the run. With `wait`, answer once the run has stopped."""
    run = await _existing_run(s, thread_id, run_id)
    if not await s.executor.cancel(run.run_id, action):
        raise Conflict(f"Run '{run_id}' is not pending or running.", code="run_not_active")
    if wait:
        await s.executor.wait(run.run_id)
    return {}


THREAD_STREAM_KINDS = {"run_modes": {"run", "lifecycle"}, "lifecycle": {"lifecycle"}, "state_update": {"state"}}


@router.get("/threads/{thread_id}/stream")
async def thread_stream(
    thread_id: str,
    stream_mode: list[str] | None = Query(None),
    last_event_id: str | None = Header(None),
    s: Services = Depends(caller),
) -> EventSourceResponse:
    """The thread's own stream, open until the client leaves: `run_modes` (every run's frames, then
    `metadata {"status": "run_done"}`), `lifecycle` (run start and end only), `state_update` (the
    thread's values after each run). Frames always carry ids; `Last-Event-ID` resumes."""
    thread = await existing_thread(s, thread_id)
    try:
        parse_event_id(last_event_id)
    except UnknownEventId as exc:
        raise ApiError(str(exc), code=exc.code) from None
    modes = [m for mode in stream_mode or () for m in mode.split(",") if m] or ["run_modes"]
    unknown = set(modes) - set(THREAD_STREAM_KINDS)
    if unknown:
        raise Unprocessable(f"Unknown thread stream_mode {sorted(unknown)}.", code="invalid_stream_mode")
    kinds = set().union(*(THREAD_STREAM_KINDS[m] for m in modes))
    log = s.executor.thread_events
    if log is None:
        raise NotFound("Thread streams are not available.", code="not_found")
    if not await log.has(thread.thread_id):
        await log.begin(thread.thread_id, first_id=1)

    async def frames() -> AsyncIterator[bytes]:
        async for event in log.follow(thread.thread_id, last_event_id):
            if event.kind in kinds:
                yield frame(event.event, event.data, event.id)

    location = {"Location": f"/threads/{thread.thread_id}/stream"}
    return sse_response(s, frames(), location, await stream_slot(s), "thread")


@router.get("/threads/{thread_id}/runs/{run_id}/stream")
async def join_stream(
    thread_id: str,
    run_id: str,
    stream_mode: list[str] | None = Query(None),
    cancel_on_disconnect: bool = False,
    last_event_id: str | None = Header(None),
    s: Services = Depends(caller),
) -> EventSourceResponse:
    run = await _existing_run(s, thread_id, run_id)
    try:
        parse_event_id(last_event_id)
    except UnknownEventId as exc:
        raise ApiError(str(exc), code=exc.code) from None
    # The SDK sends `stream_mode=` (empty) when none was asked for.
    stream_mode = [m for mode in stream_mode or () for m in mode.split(",") if m]
    unknown = set(stream_mode) - set(STREAM_MODES)
    if unknown:
        raise Unprocessable(f"Unknown stream_mode {sorted(unknown)}.", code="invalid_stream_mode")
    modes = None if not stream_mode else {"messages" if m == "messages-tuple" else m for m in stream_mode}
    if run.status in FINAL_RUN_STATUSES and not await s.events.has(run.run_id):

        async def ended() -> AsyncIterator[bytes]:
            yield frame("end", b"null")

        return event_stream(s, run, ended(), StreamSlot())
    on_disconnect = "cancel" if cancel_on_disconnect else "continue"
    return event_stream(s, run, _frames(s, run, last_event_id, True, on_disconnect, modes), await stream_slot(s))
