"""Redis implementation of `RecordStore` (scale-out mode), on plain Redis (no modules).

Keys, for a prefix `p`, thread `t` and run `r`:

    p:thread:{t}          STRING  the thread record as JSON
    p:run:{t}:r           STRING  the run record as JSON
    p:runs:{t}            ZSET    the thread's run ids, scored by created_at
    p:threads             ZSET    every thread id, scored by created_at
    p:tenant:{n}:threads  ZSET    the thread ids of tenant n, scored by created_at
    p:unfinished          SET     ids of runs that are pending or running
    p:runidx              HASH    run id -> thread id, so `get_run` finds the run's key

A thread and its runs share the hash tag `{t}`, so they share a Cluster slot. Every write
goes in one MULTI/EXEC together with the global indexes; on a single Redis that makes
a run, its thread and the indexes change atomically. The global keys live in other slots,
so this store targets a single Redis (or a primary with replicas), not Redis Cluster.

Cost: plain Redis has no secondary index on JSON, so `search_threads` and `count_threads`
read every candidate thread record (all threads under the prefix, the tenant's threads
when the query names one, or only `ids` when given) and filter and sort in Python:
O(threads) reads per call, in batches (a count with no filter reads an index's size only).
`list_runs` reads all runs of one thread. Both sort exactly as the SQLite store does (ISO strings,
ties by id), so the two stores agree on order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import WatchError

from infra.jsonwire import dumps_str, loads
from infra.persistence.records import RunRecord, ThreadQuery, ThreadRecord
from infra.persistence.redis_client import connect

_BATCH = 500  # records read per MGET
_UNFINISHED = frozenset({"pending", "running"})
_THREAD_FIELDS = frozenset(f.name for f in dataclasses.fields(ThreadRecord))
_RUN_FIELDS = frozenset(f.name for f in dataclasses.fields(RunRecord))
_SORT_KEYS: dict[str, Callable[[ThreadRecord], str]] = {
    "thread_id": lambda t: t.thread_id,
    "status": lambda t: t.status,
    "created_at": lambda t: t.created_at.isoformat(),
    "updated_at": lambda t: t.updated_at.isoformat(),
}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _encode(record: ThreadRecord | RunRecord) -> str:
    doc = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    doc["created_at"] = record.created_at.isoformat()
    doc["updated_at"] = record.updated_at.isoformat()
    return dumps_str(doc)


def _dates(doc: dict[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    doc = {k: v for k, v in doc.items() if k in fields}  # ignore fields a newer version wrote
    doc["created_at"] = datetime.fromisoformat(doc["created_at"])
    doc["updated_at"] = datetime.fromisoformat(doc["updated_at"])
    return doc


def _thread(raw: bytes | str) -> ThreadRecord:
    return ThreadRecord(**_dates(loads(raw), _THREAD_FIELDS))


def _run(raw: bytes | str) -> RunRecord:
    return RunRecord(**_dates(loads(raw), _RUN_FIELDS))


def _matches(doc: dict[str, Any] | None, filters: dict[str, Any]) -> bool:
    """Each top-level key equals the given JSON value, as the SQLite store's `json_extract`.

    Objects and arrays compare as JSON text, so key order matters, as it does in SQLite.
    """
    if not filters:
        return True
    if doc is None:
        return False
    for key, want in filters.items():
        if key not in doc:
            return False
        have = doc[key]
        if want is None:
            if have is not None:
                return False
        elif isinstance(want, dict | list):
            if dumps_str(have) != dumps_str(want):
                return False
        elif isinstance(have, dict | list) or have is None or have != want:
            return False
    return True


def _selected(t: ThreadRecord, query: ThreadQuery) -> bool:
    return (
        (query.status is None or t.status == query.status)
        and (query.tenant is None or t.tenant == query.tenant)
        and _matches(t.metadata, query.metadata)
        and _matches(t.values, query.values)
    )


class RedisRecordStore:
    def __init__(self, redis: Redis, prefix: str = "sy") -> None:
        self.redis, self.prefix = redis, prefix
        self._threads, self._unfinished, self._runidx = f"{prefix}:threads", f"{prefix}:unfinished", f"{prefix}:runidx"

    @classmethod
    async def open(cls, url: str, prefix: str = "sy") -> RedisRecordStore:
        redis = connect(url)
        await redis.ping()  # fail at startup, not on the first request
        return cls(redis, prefix)

    async def close(self) -> None:
        await self.redis.aclose()

    # -- keys ------------------------------------------------------------------------------
    def _thread_key(self, thread_id: str) -> str:
        return f"{self.prefix}:thread:{{{thread_id}}}"

    def _run_key(self, thread_id: str, run_id: str) -> str:
        return f"{self.prefix}:run:{{{thread_id}}}:{run_id}"

    def _runs_key(self, thread_id: str) -> str:
        return f"{self.prefix}:runs:{{{thread_id}}}"

    def _tenant_key(self, tenant: str) -> str:
        return f"{self.prefix}:tenant:{tenant}:threads"

    async def _mget(self, keys: list[str]) -> list[bytes | str]:
        found: list[bytes | str] = []
        for i in range(0, len(keys), _BATCH):
            found += [raw for raw in await self.redis.mget(keys[i : i + _BATCH]) if raw is not None]
        return found

    # -- threads ---------------------------------------------------------------------------
    async def put_thread(self, thread: ThreadRecord) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            self._queue_thread(pipe, thread)
            await pipe.execute()

    def _queue_thread(self, pipe: Any, thread: ThreadRecord) -> None:
        pipe.set(self._thread_key(thread.thread_id), _encode(thread))
        pipe.zadd(self._threads, {thread.thread_id: thread.created_at.timestamp()})
        if thread.tenant is not None:
            pipe.zadd(self._tenant_key(thread.tenant), {thread.thread_id: thread.created_at.timestamp()})

    async def get_thread(self, thread_id: str) -> ThreadRecord | None:
        raw = await self.redis.get(self._thread_key(thread_id))
        return None if raw is None else _thread(raw)

    async def delete_thread(self, thread_id: str) -> bool:
        runs_key = self._runs_key(thread_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    # A run added meanwhile restarts the delete.
                    await pipe.watch(runs_key, self._thread_key(thread_id))
                    run_ids = [_text(r) for r in await pipe.zrange(runs_key, 0, -1)]
                    raw = await pipe.get(self._thread_key(thread_id))
                    tenant = None if raw is None else _thread(raw).tenant
                    pipe.multi()
                    pipe.delete(self._thread_key(thread_id), *(self._run_key(thread_id, r) for r in run_ids))
                    pipe.delete(runs_key)
                    pipe.zrem(self._threads, thread_id)
                    if tenant is not None:
                        pipe.zrem(self._tenant_key(tenant), thread_id)
                    if run_ids:
                        pipe.srem(self._unfinished, *run_ids)
                        pipe.hdel(self._runidx, *run_ids)
                    deleted, *_ = await pipe.execute()
                    return int(deleted) > 0
                except WatchError:
                    continue

    async def _candidates(self, query: ThreadQuery) -> list[ThreadRecord]:
        if query.ids is not None:
            ids: Iterable[str] = dict.fromkeys(query.ids)
        else:
            index = self._threads if query.tenant is None else self._tenant_key(query.tenant)
            ids = (_text(i) for i in await self.redis.zrange(index, 0, -1))
        threads = [_thread(raw) for raw in await self._mget([self._thread_key(i) for i in ids])]
        return [t for t in threads if _selected(t, query)]

    async def search_threads(self, query: ThreadQuery) -> list[ThreadRecord]:
        threads = sorted(await self._candidates(query), key=lambda t: t.thread_id)
        # Python's sort is stable also when reversed, so ties stay in thread_id order, as in SQLite.
        threads.sort(key=_SORT_KEYS.get(query.sort_by, _SORT_KEYS["created_at"]), reverse=query.sort_order != "asc")
        return threads[query.offset : query.offset + query.limit]

    async def count_threads(self, query: ThreadQuery) -> int:
        if query.ids is None and query.status is None and not query.metadata and not query.values:
            # Every thread, or a tenant's (the thread quota asks on each create): the index's size.
            index = self._threads if query.tenant is None else self._tenant_key(query.tenant)
            return int(await self.redis.zcard(index))
        return len(await self._candidates(query))

    # -- runs ------------------------------------------------------------------------------
    async def put_run(self, run: RunRecord, thread: ThreadRecord | None = None) -> None:
        previous = await self.redis.hget(self._runidx, run.run_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            if previous is not None and _text(previous) != run.thread_id:  # the run moved thread
                pipe.delete(self._run_key(_text(previous), run.run_id))
                pipe.zrem(self._runs_key(_text(previous)), run.run_id)
            pipe.set(self._run_key(run.thread_id, run.run_id), _encode(run))
            pipe.zadd(self._runs_key(run.thread_id), {run.run_id: run.created_at.timestamp()})
            pipe.hset(self._runidx, run.run_id, run.thread_id)
            if run.status in _UNFINISHED:
                pipe.sadd(self._unfinished, run.run_id)
            else:
                pipe.srem(self._unfinished, run.run_id)
            if thread is not None:
                self._queue_thread(pipe, thread)
            await pipe.execute()

    async def get_run(self, run_id: str) -> RunRecord | None:
        thread_id = await self.redis.hget(self._runidx, run_id)
        if thread_id is None:
            return None
        raw = await self.redis.get(self._run_key(_text(thread_id), run_id))
        return None if raw is None else _run(raw)

    async def list_runs(
        self, thread_id: str, *, limit: int = 10, offset: int = 0, status: str | None = None
    ) -> list[RunRecord]:
        run_ids = [_text(r) for r in await self.redis.zrange(self._runs_key(thread_id), 0, -1)]
        runs = [_run(raw) for raw in await self._mget([self._run_key(thread_id, r) for r in run_ids])]
        runs = sorted((r for r in runs if status is None or r.status == status), key=lambda r: r.run_id)
        runs.sort(key=lambda r: r.created_at.isoformat(), reverse=True)
        return runs[offset : offset + limit]

    async def delete_run(self, run_id: str) -> bool:
        thread_id = await self.redis.hget(self._runidx, run_id)
        if thread_id is None:
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._run_key(_text(thread_id), run_id))
            pipe.zrem(self._runs_key(_text(thread_id)), run_id)
            pipe.hdel(self._runidx, run_id)
            pipe.srem(self._unfinished, run_id)
            deleted, *_ = await pipe.execute()
        return int(deleted) > 0

    async def unfinished_runs(self) -> list[RunRecord]:
        run_ids = [_text(r) for r in await self.redis.smembers(self._unfinished)]
        if not run_ids:
            return []
        thread_ids = await self.redis.hmget(self._runidx, run_ids)
        keys = [self._run_key(_text(t), r) for r, t in zip(run_ids, thread_ids, strict=True) if t is not None]
        runs = [_run(raw) for raw in await self._mget(keys)]
        return sorted(runs, key=lambda r: (r.created_at.isoformat(), r.run_id))
