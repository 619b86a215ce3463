"""One suite, two `RecordStore`s: SQLite (embedded) and Redis (scale-out) must behave the same.

The Redis store runs against a real `redis-server`; each test gets its own key prefix
and deletes its keys afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from infra.persistence.records import RecordStore, RunRecord, ThreadQuery, ThreadRecord
from infra.persistence.redis_records import RedisRecordStore
from infra.persistence.sqlite_records import SqliteRecordStore

T0 = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture(params=["sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RecordStore]:
    if request.param == "sqlite":
        sqlite = await SqliteRecordStore.open(tmp_path / "records.db")
        yield sqlite
        await sqlite.close()
        return
    prefix = f"test-{uuid4().hex[:8]}"
    redis = await RedisRecordStore.open(request.getfixturevalue("redis_url"), prefix=prefix)
    yield redis
    keys = [key async for key in redis.redis.scan_iter(match=f"{prefix}:*")]
    if keys:
        await redis.redis.delete(*keys)
    await redis.close()


def thread(thread_id: str, seconds: float = 0, **fields: object) -> ThreadRecord:
    return ThreadRecord(thread_id=thread_id, created_at=at(seconds), updated_at=at(seconds), **fields)  # type: ignore[arg-type]


def run(run_id: str, thread_id: str, seconds: float = 0, **fields: object) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        thread_id=thread_id,
        assistant_id="support",
        created_at=at(seconds),
        updated_at=at(seconds),
        **fields,  # type: ignore[arg-type]
    )


def ids(records: list[ThreadRecord]) -> list[str]:
    return [t.thread_id for t in records]


async def seed(store: RecordStore) -> None:
    await store.put_thread(thread("a", 1, metadata={"user": "u1", "tier": 1, "tags": ["x"]}, status="idle"))
    await store.put_thread(thread("b", 2, metadata={"user": "u2", "tier": 2, "opts": {"k": 1}}, status="busy"))
    await store.put_thread(thread("c", 3, metadata={"user": "u1", "gone": None}, status="error", values={"n": 3}))
    await store.put_thread(thread("d", 4, metadata={"user": "u2", "flag": True}, status="busy", values={"n": 4}))


async def test_put_get_thread_round_trips(store: RecordStore) -> None:
    created = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    record = ThreadRecord(
        thread_id="t1",
        created_at=created,
        updated_at=created + timedelta(minutes=1),
        metadata={"user": "u1", "nested": {"a": [1, 2]}},
        status="interrupted",
        values={"messages": [{"type": "human", "content": "hi"}]},
        interrupts={"task": [{"value": "ask"}]},
        config={"configurable": {"x": 1}},
        error="Boom",
    )
    await store.put_thread(record)
    assert await store.get_thread("t1") == record
    assert await store.get_thread("missing") is None
    record.status = "idle"
    await store.put_thread(record)
    assert (await store.get_thread("t1")) == record


async def test_delete_thread_deletes_its_runs(store: RecordStore) -> None:
    await store.put_thread(thread("t1"))
    await store.put_run(run("r1", "t1", 1, status="running"))
    await store.put_run(run("r2", "t1", 2))
    await store.put_run(run("other", "t2", 3))
    assert await store.delete_thread("t1") is True
    assert await store.get_thread("t1") is None
    assert await store.get_run("r1") is None
    assert await store.list_runs("t1") == []
    assert [r.run_id for r in await store.unfinished_runs()] == ["other"]
    assert await store.get_run("other") is not None
    assert await store.delete_thread("t1") is False


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"user": "u1"}, ["c", "a"]),
        ({"user": "u2", "tier": 2}, ["b"]),
        ({"tier": 1}, ["a"]),
        ({"tags": ["x"]}, ["a"]),
        ({"opts": {"k": 1}}, ["b"]),
        ({"opts": {"k": 2}}, []),
        ({"gone": None}, ["c"]),
        ({"flag": True}, ["d"]),
        ({"user": "nobody"}, []),
        ({"missing": "x"}, []),
    ],
)
async def test_search_by_metadata(store: RecordStore, metadata: dict[str, object], expected: list[str]) -> None:
    await seed(store)
    query = ThreadQuery(metadata=metadata)
    assert ids(await store.search_threads(query)) == expected
    assert await store.count_threads(query) == len(expected)


async def test_search_by_values_status_and_ids(store: RecordStore) -> None:
    await seed(store)
    assert ids(await store.search_threads(ThreadQuery(values={"n": 3}))) == ["c"]
    assert ids(await store.search_threads(ThreadQuery(values={"n": 5}))) == []
    assert ids(await store.search_threads(ThreadQuery(status="busy"))) == ["d", "b"]
    assert ids(await store.search_threads(ThreadQuery(ids=["a", "c", "zz"]))) == ["c", "a"]
    assert ids(await store.search_threads(ThreadQuery(ids=[]))) == []
    both = ThreadQuery(metadata={"user": "u2"}, status="busy", values={"n": 4})
    assert ids(await store.search_threads(both)) == ["d"]
    assert await store.count_threads(ThreadQuery()) == 4
    assert await store.count_threads(ThreadQuery(status="busy", limit=1)) == 2


@pytest.mark.parametrize(
    ("sort_by", "sort_order", "expected"),
    [
        ("created_at", "desc", ["d", "c", "b", "a"]),
        ("created_at", "asc", ["a", "b", "c", "d"]),
        ("updated_at", "desc", ["a", "d", "c", "b"]),
        ("thread_id", "asc", ["a", "b", "c", "d"]),
        ("thread_id", "desc", ["d", "c", "b", "a"]),
        ("status", "asc", ["b", "d", "c", "a"]),  # ties (busy) by thread_id
        ("status", "desc", ["a", "c", "b", "d"]),  # ties stay by thread_id ascending
    ],
)
async def test_sort_orders(store: RecordStore, sort_by: str, sort_order: str, expected: list[str]) -> None:
    await seed(store)
    touched = await store.get_thread("a")
    assert touched is not None
    touched.updated_at = at(10)
    await store.put_thread(touched)
    query = ThreadQuery(sort_by=sort_by, sort_order=sort_order)  # type: ignore[arg-type]
    assert ids(await store.search_threads(query)) == expected


async def test_equal_created_at_ties_break_by_thread_id(store: RecordStore) -> None:
    for thread_id in ("m", "k", "z"):
        await store.put_thread(thread(thread_id, 5))
    assert ids(await store.search_threads(ThreadQuery(sort_order="desc"))) == ["k", "m", "z"]
    assert ids(await store.search_threads(ThreadQuery(sort_order="asc"))) == ["k", "m", "z"]


async def test_limit_and_offset(store: RecordStore) -> None:
    await seed(store)
    assert ids(await store.search_threads(ThreadQuery(limit=2))) == ["d", "c"]
    assert ids(await store.search_threads(ThreadQuery(limit=2, offset=2))) == ["b", "a"]
    assert ids(await store.search_threads(ThreadQuery(limit=2, offset=3))) == ["a"]
    assert ids(await store.search_threads(ThreadQuery(offset=9))) == []


async def test_put_run_with_thread_writes_both(store: RecordStore) -> None:
    busy = thread("t1", 1, status="busy")
    await store.put_run(run("r1", "t1", 1, status="pending"), busy)
    stored = await store.get_thread("t1")
    assert stored is not None and stored.status == "busy"
    assert ids(await store.search_threads(ThreadQuery(status="busy"))) == ["t1"]
    assert (await store.get_run("r1")) == run("r1", "t1", 1, status="pending")


async def test_put_run_without_thread_leaves_thread_alone(store: RecordStore) -> None:
    await store.put_thread(thread("t1", status="idle"))
    await store.put_run(run("r1", "t1", status="running"))
    stored = await store.get_thread("t1")
    assert stored is not None and stored.status == "idle"


async def test_list_runs_newest_first_with_status_and_paging(store: RecordStore) -> None:
    await store.put_run(run("r1", "t1", 1, status="success"))
    await store.put_run(run("r2", "t1", 2, status="error"))
    await store.put_run(run("r3", "t1", 3, status="success"))
    await store.put_run(run("r0", "t1", 3, status="success"))  # same time as r3: ties by run_id
    await store.put_run(run("x1", "t2", 4))

    def run_ids(runs: list[RunRecord]) -> list[str]:
        return [r.run_id for r in runs]

    assert run_ids(await store.list_runs("t1")) == ["r0", "r3", "r2", "r1"]
    assert run_ids(await store.list_runs("t1", status="success")) == ["r0", "r3", "r1"]
    assert run_ids(await store.list_runs("t1", limit=2, offset=1)) == ["r3", "r2"]
    assert run_ids(await store.list_runs("t1", status="success", limit=1, offset=1)) == ["r3"]
    assert await store.list_runs("t1", status="timeout") == []
    assert await store.list_runs("nobody") == []


async def test_get_and_delete_run(store: RecordStore) -> None:
    await store.put_run(run("r1", "t1", status="running"))
    assert (await store.get_run("r1")) is not None
    assert await store.get_run("missing") is None
    assert await store.delete_run("r1") is True
    assert await store.get_run("r1") is None
    assert await store.list_runs("t1") == []
    assert await store.unfinished_runs() == []
    assert await store.delete_run("r1") is False


async def test_unfinished_runs_oldest_first_and_follow_status(store: RecordStore) -> None:
    await store.put_run(run("late", "t1", 9, status="running"))
    await store.put_run(run("early", "t2", 1, status="pending"))
    await store.put_run(run("done", "t1", 5, status="success"))
    await store.put_run(run("failed", "t3", 2, status="error"))
    assert [r.run_id for r in await store.unfinished_runs()] == ["early", "late"]
    finished = run("late", "t1", 9, status="success")
    await store.put_run(finished)
    assert [r.run_id for r in await store.unfinished_runs()] == ["early"]
    await store.put_run(run("done", "t1", 5, status="running", attempt=2))  # resumed
    assert [r.run_id for r in await store.unfinished_runs()] == ["early", "done"]


async def test_run_fields_round_trip(store: RecordStore) -> None:
    created = datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)
    record = RunRecord(
        run_id="r1",
        thread_id="t1",
        assistant_id="support",
        created_at=created,
        updated_at=created + timedelta(seconds=1),
        status="error",
        metadata={"source": "api", "nested": {"a": None}},
        kwargs={"input": {"messages": [{"role": "user", "content": "hé"}]}, "stream_mode": ["values"]},
        multitask_strategy="reject",
        error="TimeoutError",
        attempt=3,
    )
    await store.put_run(record)
    loaded = await store.get_run("r1")
    assert loaded == record
    assert loaded is not None and loaded.created_at.tzinfo is not None
    assert (await store.list_runs("t1")) == [record]
