"""The wire format of our answers: what `server.views` produces, as types the OpenAPI document
(`server.openapi`) publishes and Schemathesis checks every response against.

TypedDicts say which keys are always there (pydantic needs typing_extensions' before Python
3.12). Objects may gain keys, so only `ErrorBody` forbids others.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NotRequired

from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

from infra.persistence.records import RunStatus, ThreadStatus
from server.schemas import MultitaskStrategy


@with_config(ConfigDict(extra="forbid"))
class ErrorBody(TypedDict):
    detail: str
    code: str
    request_id: NotRequired[str]  # 500 only: the id in the response's x-request-id and in the logs


class Assistant(TypedDict):
    assistant_id: str
    graph_id: str
    config: dict[str, Any]
    context: dict[str, Any]
    metadata: dict[str, Any]
    name: str
    created_at: datetime
    updated_at: datetime
    version: int
    description: str | None


class Thread(TypedDict):
    thread_id: str
    created_at: datetime
    updated_at: datetime
    state_updated_at: datetime
    metadata: dict[str, Any]
    status: ThreadStatus
    config: dict[str, Any]
    values: dict[str, Any] | None
    interrupts: dict[str, Any]


class Run(TypedDict):
    run_id: str
    thread_id: str
    assistant_id: str
    created_at: datetime
    updated_at: datetime
    status: RunStatus
    metadata: dict[str, Any]
    kwargs: dict[str, Any]
    multitask_strategy: MultitaskStrategy
    error: NotRequired[str]


class CheckpointRef(TypedDict):
    checkpoint_id: str | None
    thread_id: str | None
    checkpoint_ns: str


class Task(TypedDict):
    id: str
    name: str
    path: list[Any]
    error: str | None
    interrupts: list[Any]
    checkpoint: CheckpointRef | None
    state: ThreadState | None
    result: Any


class ThreadState(TypedDict):
    values: dict[str, Any]
    next: list[str]
    tasks: list[Task]
    metadata: dict[str, Any] | None
    created_at: str | None
    checkpoint: CheckpointRef | None
    parent_checkpoint: CheckpointRef | None
    interrupts: list[Any]
    checkpoint_id: str | None
    parent_checkpoint_id: str | None


class StateUpdated(TypedDict):
    checkpoint: dict[str, Any]
    configurable: dict[str, Any]
    checkpoint_id: str


class StoreItem(TypedDict):
    namespace: list[str]
    key: str
    value: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    score: NotRequired[float | None]


class StoreItems(TypedDict):
    items: list[StoreItem]


class StoreNamespaceList(TypedDict):
    namespaces: list[list[str]]
