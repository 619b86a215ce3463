"""How records and LangGraph objects look on the wire."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID, uuid5

from langgraph.types import StateSnapshot

from infra.jsonwire import to_jsonable
from infra.persistence.records import RunRecord, ThreadRecord

# The protocol's namespace for system assistants: uuid5(this, graph_id).
ASSISTANT_NAMESPACE = UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")
SYSTEM_EPOCH = "2025-01-01T00:00:00+00:00"


def assistant_id(graph_id: str) -> str:
    return str(uuid5(ASSISTANT_NAMESPACE, graph_id))


def assistant(graph_id: str, description: str | None = None) -> dict[str, Any]:
    return {
        "assistant_id": assistant_id(graph_id),
        "graph_id": graph_id,
        "config": {},
        "context": {},
        "metadata": {"created_by": "system"},
        "name": graph_id,
        "created_at": SYSTEM_EPOCH,
        "updated_at": SYSTEM_EPOCH,
        "version": 1,
        "description": description,
    }


def thread(t: ThreadRecord) -> dict[str, Any]:
    return {
        "thread_id": t.thread_id,
        "created_at": t.created_at.isoformat(),
        "updated_at": t.updated_at.isoformat(),
        "state_updated_at": t.updated_at.isoformat(),
        "metadata": t.metadata,
        "status": t.status,
        "config": t.config,
        "values": t.values,
        "interrupts": t.interrupts,
    }


def run(r: RunRecord) -> dict[str, Any]:
    """A run; `error` (our addition) says why a run ended in `error`."""
    body = {
        "run_id": r.run_id,
        "thread_id": r.thread_id,
        "assistant_id": r.assistant_id,
        "created_at": r.created_at.isoformat(),
        "updated_at": r.updated_at.isoformat(),
        "status": r.status,
        "metadata": r.metadata,
        "kwargs": r.kwargs,
        "multitask_strategy": r.multitask_strategy,
    }
    if r.error:
        body["error"] = r.error
    return body


def _checkpoint(config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not config:
        return None
    c = config.get("configurable", {})
    return {
        "checkpoint_id": c.get("checkpoint_id"),
        "thread_id": c.get("thread_id"),
        "checkpoint_ns": c.get("checkpoint_ns", ""),
    }


def state(snapshot: StateSnapshot) -> dict[str, Any]:
    """A `StateSnapshot` as the protocol's ThreadState (also used for history entries)."""
    checkpoint = _checkpoint(snapshot.config)
    parent = _checkpoint(snapshot.parent_config)
    tasks = []
    for task in snapshot.tasks:
        task_state = task.state
        tasks.append(
            {
                "id": task.id,
                "name": task.name,
                "path": list(task.path),
                "error": None if task.error is None else type(task.error).__name__,
                "interrupts": to_jsonable(list(task.interrupts)),
                "checkpoint": _checkpoint(task_state) if isinstance(task_state, dict) else None,
                "state": state(task_state) if isinstance(task_state, StateSnapshot) else None,
                "result": to_jsonable(task.result),
            }
        )
    return {
        "values": to_jsonable(snapshot.values),
        "next": list(snapshot.next),
        "tasks": tasks,
        "metadata": to_jsonable(snapshot.metadata),
        "created_at": snapshot.created_at,
        "checkpoint": checkpoint,
        "parent_checkpoint": parent,
        "interrupts": to_jsonable(list(snapshot.interrupts)),
        "checkpoint_id": checkpoint and checkpoint["checkpoint_id"],
        "parent_checkpoint_id": parent and parent["checkpoint_id"],
    }
