"""SQLite implementation of `RecordStore` (embedded mode)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from infra.jsonwire import dumps_str, loads
from infra.persistence.records import RunRecord, ThreadQuery, ThreadRecord
from infra.persistence.sqlite import connect

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
    error TEXT
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
    error TEXT
);
CREATE INDEX IF NOT EXISTS sy_runs_thread ON sy_runs (thread_id, created_at);
CREATE INDEX IF NOT EXISTS sy_runs_status ON sy_runs (status);
"""

_THREAD_COLUMNS = (
    "thread_id, created_at, updated_at, metadata, status, state_values, interrupts, config, error"
)
_RUN_COLUMNS = (
    "run_id, thread_id, assistant_id, created_at, updated_at, status, metadata, kwargs, "
    "multitask_strategy, error"
)
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
    )


def _thread(row: aiosqlite.Row) -> ThreadRecord:
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
    )


def _run(row: aiosqlite.Row) -> RunRecord:
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
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        # One connection, one writer: serialise transactions on it.
        self._write = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> SqliteRecordStore:
        conn = await connect(path)
        conn.row_factory = aiosqlite.Row
        await conn.executescript(SCHEMA)
        await conn.commit()
        return cls(conn)

    async def close(self) -> None:
        await self._conn.close()

    async def _execute(self, statements: Iterable[tuple[str, tuple[Any, ...]]]) -> int:
        async with self._write:
            changed = 0
            try:
                for sql, params in statements:
                    cursor = await self._conn.execute(sql, params)
                    changed += cursor.rowcount
                await self._conn.commit()
            except BaseException:
                await self._conn.rollback()
                raise
            return changed

    async def put_thread(self, thread: ThreadRecord) -> None:
        await self._execute(
            [
                (
                    f"INSERT OR REPLACE INTO sy_threads ({_THREAD_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
                    _thread_row(thread),
                )
            ]
        )

    async def get_thread(self, thread_id: str) -> ThreadRecord | None:
        async with self._conn.execute(
            f"SELECT {_THREAD_COLUMNS} FROM sy_threads WHERE thread_id = ?", (thread_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else _thread(row)

    async def delete_thread(self, thread_id: str) -> bool:
        changed = await self._execute(
            [
                ("DELETE FROM sy_runs WHERE thread_id = ?", (thread_id,)),
                ("DELETE FROM sy_threads WHERE thread_id = ?", (thread_id,)),
            ]
        )
        return changed > 0

    def _where(self, query: ThreadQuery) -> tuple[str, list[Any]]:
        clauses, params = _json_filters("metadata", query.metadata)
        value_clauses, value_params = _json_filters("state_values", query.values)
        clauses += value_clauses
        params += value_params
        if query.status is not None:
            clauses.append("status = ?")
            params.append(query.status)
        if query.ids is not None:
            clauses.append(f"thread_id IN ({','.join('?' * len(query.ids))})" if query.ids else "0")
            params.extend(query.ids)
        return (" WHERE " + " AND ".join(f"({c})" for c in clauses)) if clauses else "", params

    async def search_threads(self, query: ThreadQuery) -> list[ThreadRecord]:
        where, params = self._where(query)
        sort = query.sort_by if query.sort_by in _SORTABLE else "created_at"
        order = "ASC" if query.sort_order == "asc" else "DESC"
        sql = (
            f"SELECT {_THREAD_COLUMNS} FROM sy_threads{where} ORDER BY {sort} {order}, thread_id "
            "LIMIT ? OFFSET ?"
        )
        async with self._conn.execute(sql, (*params, query.limit, query.offset)) as cursor:
            return [_thread(row) for row in await cursor.fetchall()]

    async def count_threads(self, query: ThreadQuery) -> int:
        where, params = self._where(query)
        async with self._conn.execute(f"SELECT count(*) FROM sy_threads{where}", params) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def put_run(self, run: RunRecord, thread: ThreadRecord | None = None) -> None:
        statements = [
            (f"INSERT OR REPLACE INTO sy_runs ({_RUN_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)", _run_row(run))
        ]
        if thread is not None:
            statements.append(
                (
                    f"INSERT OR REPLACE INTO sy_threads ({_THREAD_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
                    _thread_row(thread),
                )
            )
        await self._execute(statements)

    async def get_run(self, run_id: str) -> RunRecord | None:
        async with self._conn.execute(
            f"SELECT {_RUN_COLUMNS} FROM sy_runs WHERE run_id = ?", (run_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else _run(row)

    async def list_runs(
        self, thread_id: str, *, limit: int = 10, offset: int = 0, status: str | None = None
    ) -> list[RunRecord]:
        sql = f"SELECT {_RUN_COLUMNS} FROM sy_runs WHERE thread_id = ?"
        params: list[Any] = [thread_id]
        if status is not None:
            sql += " AND status = ?"
            params.append(status)
        sql += " ORDER BY created_at DESC, run_id LIMIT ? OFFSET ?"
        async with self._conn.execute(sql, (*params, limit, offset)) as cursor:
            return [_run(row) for row in await cursor.fetchall()]

    async def delete_run(self, run_id: str) -> bool:
        return await self._execute([("DELETE FROM sy_runs WHERE run_id = ?", (run_id,))]) > 0

    async def unfinished_runs(self) -> list[RunRecord]:
        async with self._conn.execute(
            f"SELECT {_RUN_COLUMNS} FROM sy_runs WHERE status IN ('pending', 'running') ORDER BY created_at"
        ) as cursor:
            return [_run(row) for row in await cursor.fetchall()]
