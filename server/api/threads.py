"""Threads: create, search, read, patch, delete, copy; state, history and state updates."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response
from langchain_core.runnables import RunnableConfig
from langchain_core.utils.uuid import uuid7
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.errors import InvalidUpdateError
from langgraph.pregel import Pregel

from infra.persistence.records import ThreadQuery, ThreadRecord, now
from server import views
from server.errors import ApiError, Conflict, NotFound, Unprocessable
from server.schemas import (
    CheckpointConfig,
    HistoryRequest,
    StateAtCheckpoint,
    StateUpdate,
    ThreadCount,
    ThreadCreate,
    ThreadPatch,
    ThreadSearch,
)
from server.services import Services, caller

router = APIRouter(prefix="/threads", tags=["threads"])

EMPTY_STATE: dict[str, Any] = {
    "values": {},
    "next": [],
    "tasks": [],
    "metadata": None,
    "created_at": None,
    "checkpoint": None,
    "parent_checkpoint": None,
    "interrupts": [],
    "checkpoint_id": None,
    "parent_checkpoint_id": None,
}


def valid_thread_id(thread_id: str) -> str:
    try:
        UUID(thread_id)
    except ValueError:
        raise Unprocessable("Invalid thread ID: must be a UUID", code="invalid_thread_id") from None
    return thread_id


def owned(s: Services, thread: ThreadRecord | None) -> ThreadRecord | None:
    """The thread if the caller may see it: another tenant's thread reads as missing, never as forbidden."""
    if thread is None or (s.tenant is not None and thread.tenant != s.tenant):
        return None
    return thread


async def existing_thread(s: Services, thread_id: str) -> ThreadRecord:
    """The caller's thread, or 404: every thread, state, history, run and stream endpoint starts here."""
    thread = owned(s, await s.records.get_thread(valid_thread_id(thread_id)))
    if thread is None:
        raise NotFound(f"Thread '{thread_id}' not found.", code="thread_not_found")
    return thread


async def new_thread(s: Services, thread_id: str | None = None, **fields: Any) -> ThreadRecord:
    """A thread record for the caller's tenant, within its quota (not yet stored)."""
    limit = s.settings.max_threads_per_tenant
    if s.tenant is not None and limit and await s.records.count_threads(ThreadQuery(tenant=s.tenant)) >= limit:
        raise ApiError(
            f"This tenant already has {limit} threads; delete some first.", code="thread_quota_exceeded", status=403
        )
    return ThreadRecord(thread_id=thread_id or str(uuid7()), tenant=s.tenant, **fields)


def taken(thread_id: str) -> Conflict:
    return Conflict(f"Thread with ID {thread_id} already exists", code="thread_exists")


def thread_graph(s: Services, thread: ThreadRecord) -> Pregel | None:
    graph_id = thread.metadata.get("graph_id")
    return s.graphs.get(graph_id) if isinstance(graph_id, str) else None


def require_graph(s: Services, thread: ThreadRecord) -> Pregel:
    graph = thread_graph(s, thread)
    if graph is None:
        raise ApiError(
            f"Thread '{thread.thread_id}' has no graph yet: start a run on it first, or set metadata.graph_id.",
            code="thread_has_no_graph",
        )
    return graph


def checkpoint_config(thread_id: str, checkpoint: dict[str, Any] | None = None) -> RunnableConfig:
    configurable = {k: v for k, v in (checkpoint or {}).items() if v is not None and k != "thread_id"}
    return {"configurable": {**configurable, "thread_id": thread_id}}


def checkpoint_fields(checkpoint: CheckpointConfig | str | None) -> dict[str, Any]:
    """A checkpoint reference as flat fields. Clients send the SDK's `{"checkpoint_id": ...}`,
    a whole config `{"configurable": {"checkpoint_id": ...}}` (as `get_state` returns it),
    or a bare checkpoint id."""
    if checkpoint is None:
        return {}
    if isinstance(checkpoint, str):
        return {"checkpoint_id": checkpoint}
    fields = checkpoint.model_dump()
    nested = fields.pop("configurable", None)
    if nested is not None and not isinstance(nested, dict):
        raise Unprocessable("A checkpoint's 'configurable' must be an object.", code="invalid_request")
    fields.update({k: v for k, v in (nested or {}).items() if v is not None})
    return fields


def checkpointer_of(graph: Pregel | None) -> BaseCheckpointSaver[Any] | None:
    saver = graph.checkpointer if graph is not None else None
    return saver if isinstance(saver, BaseCheckpointSaver) else None


@router.post("")
async def create(body: ThreadCreate, s: Services = Depends(caller)) -> dict[str, Any]:
    thread_id = valid_thread_id(body.thread_id) if body.thread_id else str(uuid7())
    existing = await s.records.get_thread(thread_id)
    if existing is not None:
        # Another tenant's id is taken all the same; saying so reveals no more than a failed insert would.
        if body.if_exists == "do_nothing" and owned(s, existing):
            return views.thread(existing)
        raise taken(thread_id)
    thread = await new_thread(s, thread_id, metadata=body.metadata)
    await s.records.put_thread(thread)
    return views.thread(thread)


@router.post("/search")
async def search(body: ThreadSearch, response: Response, s: Services = Depends(caller)) -> list[dict[str, Any]]:
    query = ThreadQuery(**body.model_dump(), tenant=s.tenant)
    found = await s.records.search_threads(query)
    response.headers["X-Pagination-Total"] = str(await s.records.count_threads(query))
    return [views.thread(t) for t in found]


@router.post("/count")
async def count(body: ThreadCount, s: Services = Depends(caller)) -> int:
    return await s.records.count_threads(ThreadQuery(**body.model_dump(), tenant=s.tenant))


@router.get("/{thread_id}")
async def get(thread_id: str, s: Services = Depends(caller)) -> dict[str, Any]:
    return views.thread(await existing_thread(s, thread_id))


@router.patch("/{thread_id}")
async def patch(thread_id: str, body: ThreadPatch, s: Services = Depends(caller)) -> dict[str, Any]:
    thread = await existing_thread(s, thread_id)
    thread.metadata = {**thread.metadata, **body.metadata}
    thread.updated_at = now()
    await s.records.put_thread(thread)
    return views.thread(thread)


@router.post("/{thread_id}/copy")
async def copy(thread_id: str, s: Services = Depends(caller)) -> dict[str, Any]:
    """A new thread with the original's metadata, values, interrupts and every checkpoint
    (so its history and time travel work as on the original); runs are not copied."""
    thread = await existing_thread(s, thread_id)
    if await s.executor.unfinished_on_thread(thread.thread_id):
        raise Conflict("Thread is busy with a run; copy it when the run ends.", code="thread_busy")
    copied = await new_thread(
        s,
        metadata=dict(thread.metadata),
        values=thread.values,
        interrupts=thread.interrupts,
        config=thread.config,
    )
    saver = checkpointer_of(thread_graph(s, thread))
    if saver is not None:  # checkpoints first: a record never points at missing state
        await saver.acopy_thread(thread.thread_id, copied.thread_id)
    await s.records.put_thread(copied)
    return views.thread(copied)


@router.delete("/{thread_id}", status_code=204)
async def delete(thread_id: str, s: Services = Depends(caller)) -> Response:
    thread = await existing_thread(s, thread_id)
    # Its runs stop first (queued ones too), so none writes to the thread after it is gone.
    active = await s.executor.unfinished_on_thread(thread.thread_id)
    for run_id in active:
        await s.executor.cancel(run_id)
    for run_id in active:
        await s.executor.wait(run_id)
    for graph in s.graphs.values():
        if graph.checkpointer is not None:
            await graph.checkpointer.adelete_thread(thread.thread_id)  # type: ignore[union-attr]
            break
    await s.records.delete_thread(thread.thread_id)
    return Response(status_code=204)


async def _state(s: Services, thread_id: str, checkpoint: dict[str, Any] | None, subgraphs: bool) -> dict[str, Any]:
    thread = await existing_thread(s, thread_id)
    graph = thread_graph(s, thread)
    if graph is None:
        return EMPTY_STATE
    snapshot = await graph.aget_state(checkpoint_config(thread.thread_id, checkpoint), subgraphs=subgraphs)  # type: ignore[arg-type]
    # With nothing saved, LangGraph echoes the requested config back; only a saved checkpoint has a timestamp.
    saved = snapshot.created_at is not None
    if checkpoint and checkpoint.get("checkpoint_id") and not saved:
        raise NotFound(f"Checkpoint '{checkpoint['checkpoint_id']}' not found.", code="checkpoint_not_found")
    return views.state(snapshot) if saved else EMPTY_STATE


@router.get("/{thread_id}/state")
async def get_state(thread_id: str, subgraphs: bool = False, s: Services = Depends(caller)) -> dict[str, Any]:
    return await _state(s, thread_id, None, subgraphs)


@router.get("/{thread_id}/state/{checkpoint_id}")
async def get_state_at(
    thread_id: str, checkpoint_id: str, subgraphs: bool = False, s: Services = Depends(caller)
) -> dict[str, Any]:
    return await _state(s, thread_id, {"checkpoint_id": checkpoint_id}, subgraphs)


@router.post("/{thread_id}/state/checkpoint")
async def post_state_at(thread_id: str, body: StateAtCheckpoint, s: Services = Depends(caller)) -> dict[str, Any]:
    return await _state(s, thread_id, checkpoint_fields(body.checkpoint), body.subgraphs)


@router.post("/{thread_id}/state")
async def update_state(thread_id: str, body: StateUpdate, s: Services = Depends(caller)) -> dict[str, Any]:
    thread = await existing_thread(s, thread_id)
    graph = require_graph(s, thread)
    if await s.executor.unfinished_on_thread(thread.thread_id):
        raise Conflict("Thread is busy with a run; try again when it ends.", code="thread_busy")
    checkpoint = checkpoint_fields(body.checkpoint)
    if body.checkpoint_id:
        checkpoint["checkpoint_id"] = body.checkpoint_id
    try:
        config = await graph.aupdate_state(
            checkpoint_config(thread.thread_id, checkpoint),
            body.values,
            as_node=body.as_node,  # type: ignore[arg-type]
        )
    except (
        ValueError,
        KeyError,
        TypeError,  # a reducer given a value of the wrong type
        NotImplementedError,  # add_messages given something that is no message
        InvalidUpdateError,
    ) as exc:  # unknown node, bad values: the caller's mistake
        raise ApiError(f"Cannot update state: {exc}", code="invalid_state_update") from None
    snapshot = await graph.aget_state({"configurable": {"thread_id": thread.thread_id}})
    thread.values, thread.updated_at = views.state(snapshot)["values"], now()
    await s.records.put_thread(thread)
    configurable = config["configurable"]
    return {
        "checkpoint": configurable,
        "configurable": configurable,
        "checkpoint_id": configurable["checkpoint_id"],
    }


# Keys the checkpointer can match as top-level metadata keys (it reads a dot as a JSON path).
_FILTER_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


async def _history(s: Services, thread_id: str, body: HistoryRequest) -> list[dict[str, Any]]:
    """Checkpoints newest first: at most `limit`, older than `before`, whose metadata has
    each key of `metadata` with that value, in the namespace of `checkpoint`."""
    bad_keys = [key for key in body.metadata or {} if not _FILTER_KEY.match(key)]
    if bad_keys:
        raise Unprocessable(
            f"metadata filter keys may use only letters, digits, '_' and '-': {bad_keys}", code="invalid_request"
        )
    thread = await existing_thread(s, thread_id)
    graph = thread_graph(s, thread)
    if graph is None:
        return []
    before = checkpoint_fields(body.before)
    # `before` without a checkpoint id means no bound; passed on, it would match nothing.
    before_config = checkpoint_config(thread.thread_id, before) if before.get("checkpoint_id") else None
    config = checkpoint_config(thread.thread_id, checkpoint_fields(body.checkpoint) or None)
    return [
        views.state(snapshot)
        async for snapshot in graph.aget_state_history(
            config,
            filter=body.metadata,
            before=before_config,
            limit=body.limit,
        )
    ]


@router.get("/{thread_id}/history")
async def get_history(
    thread_id: str,
    limit: int = Query(10, ge=1, le=1000),
    before: str | None = None,
    s: Services = Depends(caller),
) -> list[dict[str, Any]]:
    return await _history(s, thread_id, HistoryRequest(limit=limit, before=before))


@router.post("/{thread_id}/history")
async def post_history(thread_id: str, body: HistoryRequest, s: Services = Depends(caller)) -> list[dict[str, Any]]:
    return await _history(s, thread_id, body)
