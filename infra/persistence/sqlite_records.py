"""SQLite implementation of `RecordStore` (embedded mode).

Statements run inline on the event loop, like the checkpointer (see
`infra.persistence.checkpointer`): each is a short local write to a WAL database
with `synchronous=NORMAL`, cheaper than a hop to a worker thread. Running inline
also makes every transaction atomic with respect to other tasks: nothing else runs
between its statements, so no lock is needed and no read sees a half-written run.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from infra.jsonwire import dumps_str, loads
from infra.persistence.records import RunRecord, ThreadQuery, ThreadRecord
from infra.persistence.sqlite import connect_inline

SCHEMA = """
CREATE TABLE IF NOT EXISTS sy_threads (
    thread_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    metadata TEXT NOT NULL,
    status TEXT NOT NULL,
    state_values TEXT,
    interrupts TEXT NOT NULL,
    config TEXT NOT NULL,
    error TEXT,
    tenant TEXT
);
CREATE INDEX IF NOT EXISTS sy_threads_created ON sy_threads (created_at);
CREATE TABLE IF NOT EXISTS sy_runs (
    run_id TEXT PRIMARY KEY,
    thread_id TEXT NOT NULL,
    assistant_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    status TEXT NOT NULL,
    metadata TEXT NOT NULL,
    kwargs TEXT NOT NULL,
    multitask_strategy TEXT NOT NULL,
    error TEXT,
    attempt INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS sy_runs_thread ON sy_runs (thread_id, created_at);
CREATE INDEX IF NOT EXISTS sy_runs_status ON sy_runs (status);
"""

_THREAD_COLUMNS = "thread_id, created_at, updated_at, metadata, status, state_values, interrupts, config, error, tenant"
_RUN_COLUMNS = (
    "run_id, thread_id, assistant_id, created_at, updated_at, status, metadata, kwargs, multitask_strategy, error, "
    "attempt"
)
_PUT_THREAD = f"INSERT OR REPLACE INTO sy_threads ({_THREAD_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)"
_PUT_RUN = f"INSERT OR REPLACE INTO sy_runs ({_RUN_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
_SORTABLE = {"thread_id", "status", "created_at", "updated_at"}


def _thread_row(t: ThreadRecord) -> tuple[Any, ...]:
    return (
        t.thread_id,
        t.created_at.isoformat(),
        t.updated_at.isoformat(),
        dumps_str(t.metadata),
        t.status,
        None if t.values is None else dumps_str(t.values),
        dumps_str(t.interrupts),
        dumps_str(t.config),
        t.error,
        t.tenant,
    )


def _thread(row: sqlite3.Row) -> ThreadRecord:
    return ThreadRecord(
        thread_id=row["thread_id"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        metadata=loads(row["metadata"]),
        status=row["status"],
        values=None if row["state_values"] is None else loads(row["state_values"]),
        interrupts=loads(row["interrupts"]),
        config=loads(row["config"]),
        error=row["error"],
        tenant=row["tenant"],
    )


def _run_row(r: RunRecord) -> tuple[Any, ...]:
    return (
        r.run_id,
        r.thread_id,
        r.assistant_id,
        r.created_at.isoformat(),
        r.updated_at.isoformat(),
        r.status,
        dumps_str(r.metadata),
        dumps_str(r.kwargs),
        r.multitask_strategy,
        r.error,
        r.attempt,
    )


def _run(row: sqlite3.Row) -> RunRecord:
    return RunRecord(
        run_id=row["run_id"],
        thread_id=row["thread_id"],
        assistant_id=row["assistant_id"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        status=row["status"],
        metadata=loads(row["metadata"]),
        kwargs=loads(row["kwargs"]),
        multitask_strategy=row["multitask_strategy"],
        error=row["error"],
        attempt=row["attempt"],
    )


def _json_filters(column: str, filters: dict[str, Any]) -> tuple[list[str], list[Any]]:
    """`column @> filters`: each top-level key must equal the given JSON value."""
    clauses: list[str] = []
    params: list[Any] = []
    for key, value in filters.items():
        path = '$."' + key.replace('"', '""') + '"'
        if isinstance(value, dict | list):
            clauses.append(f"json_extract({column}, ?) = json(?)")
            params += [path, dumps_str(value)]
        elif value is None:
            clauses.append(f"json_type({column}, ?) = 'null'")
            params.append(path)
        else:
            clauses.append(f"json_extract({column}, ?) = ?")
            params += [path, value]
    return clauses, params


class SqliteRecordStore:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @classmethod
    async def open(cls, path: Path | str) -> SqliteRecordStore:
        conn = connect_inline(path)
        conn.row_factory = sqlite3.Row
        conn.executescript(SCHEMA)
        # Databases from before runs had attempts, or threads tenants.
        if "attempt" not in {row[1] for row in conn.execute("PRAGMA table_info(sy_runs)")}:
            conn.execute("ALTER TABLE sy_runs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1")
        if "tenant" not in {row[1] for row in conn.execute("PRAGMA table_info(sy_threads)")}:
            conn.execute("ALTER TABLE sy_threads ADD COLUMN tenant TEXT")
        conn.execute("CREATE INDEX IF NOT EXISTS sy_threads_tenant ON sy_threads (tenant, created_at)")
        conn.commit()
        return cls(conn)

    async def close(self) -> None:
        self._conn.close()

    def _execute(self, statements: Iterable[tuple[str, tuple[Any, ...]]]) -> int:
        with self._conn:  # one transaction: commit, or roll back on error
            return sum(self._conn.execute(sql, params).rowcount for sql, params in statements)

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return self._conn.execute(sql, tuple(params)).fetchall()

    async def put_thread(self, thread: ThreadRecord) -> None:
        self._execute([(_PUT_THREAD, _thread_row(thread))])

    async def get_thread(self, thread_id: str) -> ThreadRecord | None:
        rows = self._rows(f"SELECT {_THREAD_COLUMNS} FROM sy_threads WHERE thread_id = ?", (thread_id,))
        return _thread(rows[0]) if rows else None

    async def delete_thread(self, thread_id: str) -> bool:
        return (
            self._execute(
                [
                    ("DELETE FROM sy_runs WHERE thread_id = ?", (thread_id,)),
                    ("DELETE FROM sy_threads WHERE thread_id = ?", (thread_id,)),
                ]
            )
            > 0
        )

    def _where(self, query: ThreadQuery) -> tuple[str, list[Any]]:
        clauses, params = _json_filters("metadata", query.metadata)
        value_clauses, value_params = _json_filters("state_values", query.values)
        clauses += value_clauses
        params += value_params
        if query.status is not None:
            clauses.append("status = ?")
            params.append(query.status)
        if query.tenant is not None:
            clauses.append("tenant = ?")
            params.append(query.tenant)
        if query.ids is not None:
            clauses.append(f"thread_id IN ({','.join('?' * len(query.ids))})" if query.ids else "0")
            params.extend(query.ids)
        return (" WHERE " + " AND ".join(f"({c})" for c in clauses)) if clauses else "", params

    async def search_threads(self, query: ThreadQuery) -> list[ThreadRecord]:
        where, params = self._where(query)
        sort = query.sort_by if query.sort_by in _SORTABLE else "created_at"
        order = "ASC" if query.sort_order == "asc" else "DESC"
        sql = f"SELECT {_THREAD_COLUMNS} FROM sy_threads{where} ORDER BY {sort} {order}, thread_id"
        sql += " LIMIT ? OFFSET ?"
        return [_thread(row) for row in self._rows(sql, (*params, query.limit, query.offset))]

    async def count_threads(self, query: ThreadQuery) -> int:
        where, params = self._where(query)
        return int(self._rows(f"SELECT count(*) FROM sy_threads{where}", params)[0][0])

    async def put_run(self, run: RunRecord, thread: ThreadRecord | None = None) -> None:
        statements = [(_PUT_RUN, _run_row(run))]
        if thread is not None:
            statements.append((_PUT_THREAD, _thread_row(thread)))
        self._execute(statements)

    async def get_run(self, run_id: str) -> RunRecord | None:
        rows = self._rows(f"SELECT {_RUN_COLUMNS} FROM sy_runs WHERE run_id = ?", (run_id,))
        return _run(rows[0]) if rows else None

    async def list_runs(
        self, thread_id: str, *, limit: int = 10, offset: int = 0, status: str | None = None
    ) -> list[RunRecord]:
        sql = f"SELECT {_RUN_COLUMNS} FROM sy_runs WHERE thread_id = ?"
        params: list[Any] = [thread_id]
        if status is not None:
            sql += " AND status = ?"
            params.append(status)
        sql += " ORDER BY created_at DESC, run_id LIMIT ? OFFSET ?"
        return [_run(row) for row in self._rows(sql, (*params, limit, offset))]

    async def delete_run(self, run_id: str) -> bool:
        return self._execute([("DELETE FROM sy_runs WHERE run_id = ?", (run_id,))]) > 0

    async def unfinished_runs(self) -> list[RunRecord]:
        sql = f"SELECT {_RUN_COLUMNS} FROM sy_runs WHERE status IN ('pending', 'running') ORDER BY created_at"
        return [_run(row) for row in self._rows(sql)]
