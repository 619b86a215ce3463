"""Thread and run records: what the API lists, searches and reports.

Checkpoints hold a thread's state; these records hold what the protocol says *about*
threads and runs (status, metadata, the run's request). Each store is a small
interface with one implementation per mode (SQLite here, Redis in scale-out).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

ThreadStatus = Literal["idle", "busy", "interrupted", "error"]
RunStatus = Literal["pending", "running", "success", "error", "timeout", "interrupted"]
FINAL_RUN_STATUSES: frozenset[str] = frozenset({"success", "error", "timeout", "interrupted"})


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ThreadRecord:
    thread_id: str
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    metadata: dict[str, Any] = field(default_factory=dict)
    status: ThreadStatus = "idle"
    values: dict[str, Any] | None = None
    interrupts: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    # The tenant that owns the thread and its runs; None when it was created with auth off.
    tenant: str | None = None


@dataclass
class RunRecord:
    run_id: str
    thread_id: str
    assistant_id: str
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    status: RunStatus = "pending"
    metadata: dict[str, Any] = field(default_factory=dict)
    kwargs: dict[str, Any] = field(default_factory=dict)
    multitask_strategy: str = "enqueue"
    error: str | None = None
    # 1 for the first execution; a run resumed after a crash runs again with the next attempt.
    attempt: int = 1


@dataclass(frozen=True)
class ThreadQuery:
    metadata: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    status: ThreadStatus | None = None
    ids: list[str] | None = None
    # Only this tenant's threads; None: every thread (auth off).
    tenant: str | None = None
    limit: int = 10
    offset: int = 0
    sort_by: Literal["thread_id", "status", "created_at", "updated_at"] = "created_at"
    sort_order: Literal["asc", "desc"] = "desc"


class RecordStore(Protocol):
    """Threads and runs together, so a run and its thread change in one transaction."""

    async def put_thread(self, thread: ThreadRecord) -> None: ...
    async def get_thread(self, thread_id: str) -> ThreadRecord | None: ...
    async def delete_thread(self, thread_id: str) -> bool:
        """Delete a thread and its runs. False when there was none."""
        ...

    async def search_threads(self, query: ThreadQuery) -> list[ThreadRecord]: ...
    async def count_threads(self, query: ThreadQuery) -> int: ...
    async def put_run(self, run: RunRecord, thread: ThreadRecord | None = None) -> None:
        """Write a run, and its thread when given, atomically."""
        ...

    async def get_run(self, run_id: str) -> RunRecord | None: ...
    async def list_runs(
        self, thread_id: str, *, limit: int = 10, offset: int = 0, status: str | None = None
    ) -> list[RunRecord]: ...
    async def delete_run(self, run_id: str) -> bool: ...
    async def unfinished_runs(self) -> list[RunRecord]:
        """Runs left pending or running, e.g. by a process that died."""
        ...
