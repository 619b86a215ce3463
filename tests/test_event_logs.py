"""One suite, two `EventLog`s: in memory (embedded) and Redis Streams (scale-out) must behave the same.

The Redis log runs against a real `redis-server`; each test gets its own key prefix and deletes
its keys afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from uuid import uuid4

import pytest

from infra.persistence.events import Event, EventLog, MemoryEventLog
from infra.persistence.redis_events import RedisEventLog

MakeLog = Callable[..., Awaitable[EventLog]]


@pytest.fixture(params=["memory", "redis"])
async def make_log(request: pytest.FixtureRequest) -> AsyncIterator[MakeLog]:
    """A factory, so a test can pick `max_events`; Redis logs share the test's prefix."""
    prefix = f"test-{uuid4().hex[:8]}"
    opened: list[RedisEventLog] = []

    async def make(max_events: int | None = None) -> EventLog:
        if request.param == "memory":
            return MemoryEventLog(max_events=max_events)
        log = RedisEventLog(request.getfixturevalue("redis_url"), prefix=prefix, max_events=max_events)
        opened.append(log)
        return log

    yield make
    for log in opened:
        keys = [key async for key in log.redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await log.redis.delete(*keys)
        await log.aclose()


async def collect(log: EventLog, run_id: str, after: str | None = None) -> list[Event]:
    return [event async for event in log.follow(run_id, after)]


def ids(events: list[Event]) -> list[int]:
    return [int(e.id) for e in events]


async def test_rapid_appends_get_strictly_increasing_ids(make_log: MakeLog) -> None:
    log = await make_log()
    await log.begin("r", 1)
    appended = [int(await log.append("r", "values", b'{"i":%d}' % i)) for i in range(500)]
    assert appended == list(range(1, 501))
    await log.close("r")
    events = await collect(log, "r")
    assert ids(events) == appended
    assert events[7] == Event("8", "values", b'{"i":7}', "run")


async def test_fields_round_trip(make_log: MakeLog) -> None:
    log = await make_log()
    await log.begin("r", 1)
    await log.append("r", "metadata", b'{"run_id":"r"}', kind="lifecycle")
    await log.close("r")
    assert await collect(log, "r") == [Event("1", "metadata", b'{"run_id":"r"}', "lifecycle")]


async def test_replay_after_a_middle_id_and_minus_one_replays_all(make_log: MakeLog) -> None:
    log = await make_log()
    await log.begin("r", 1)
    for i in range(10):
        await log.append("r", "values", b"%d" % i)
    await log.close("r")
    assert ids(await collect(log, "r", "4")) == list(range(5, 11))
    assert ids(await collect(log, "r", "-1")) == list(range(1, 11))
    assert ids(await collect(log, "r", None)) == list(range(1, 11))
    assert await collect(log, "r", "10") == []


async def test_follow_receives_live_events_and_stops_after_close(make_log: MakeLog) -> None:
    log = await make_log()
    await log.begin("r", 1)
    await log.append("r", "values", b"0")
    follower = asyncio.create_task(collect(log, "r"))
    await asyncio.sleep(0.05)  # let the follower replay and start waiting
    for i in range(1, 5):
        await log.append("r", "values", b"%d" % i)
        await asyncio.sleep(0.01)
    await log.close("r")
    events = await asyncio.wait_for(follower, timeout=10)
    assert [e.data for e in events] == [b"0", b"1", b"2", b"3", b"4"]


async def test_append_after_close_fails(make_log: MakeLog) -> None:
    log = await make_log()
    await log.begin("r", 1)
    await log.close("r")
    with pytest.raises(Exception, match="closed"):
        await log.append("r", "values", b"x")


async def test_begin_with_higher_first_id_restarts_the_log(make_log: MakeLog) -> None:
    log = await make_log()
    await log.begin("r", 1)
    for i in range(3):
        await log.append("r", "values", b"old%d" % i)
    await log.close("r")
    await log.begin("r", 100)
    assert await log.append("r", "values", b"new0") == "100"
    assert await log.append("r", "values", b"new1") == "101"
    await log.close("r")
    events = await collect(log, "r", "2")  # an id from the earlier attempt
    assert [(e.id, e.data) for e in events] == [("100", b"new0"), ("101", b"new1")]
    assert ids(await collect(log, "r", "100")) == [101]


async def test_has(make_log: MakeLog) -> None:
    log = await make_log()
    assert not await log.has("r")
    assert await collect(log, "r") == []  # following an unknown log ends at once
    await log.begin("r", 1)
    await log.append("r", "values", b"x")
    assert await log.has("r")
    await log.close("r")
    assert await log.has("r")  # until its TTL runs out


async def test_max_events_keeps_the_newest(make_log: MakeLog) -> None:
    log = await make_log(max_events=10)
    await log.begin("r", 1)
    for i in range(1000):
        await log.append("r", "values", b"%d" % i)
    await log.close("r")
    kept = ids(await collect(log, "r"))
    # Redis trims approximately (whole stream nodes), so at least the newest 10 remain, contiguous.
    assert 10 <= len(kept) < 1000
    assert kept == list(range(1001 - len(kept), 1001))
    assert ids(await collect(log, "r", "995")) == list(range(996, 1001))


async def test_second_process_follows_a_log_the_first_writes(redis_url: str) -> None:
    prefix = f"test-{uuid4().hex[:8]}"
    writer = RedisEventLog(redis_url, prefix=prefix)
    reader = RedisEventLog(redis_url, prefix=prefix)
    try:
        await writer.begin("r", 1)
        await writer.append("r", "values", b"0")
        follower = asyncio.create_task(collect(reader, "r"))
        await asyncio.sleep(0.05)
        await writer.append("r", "values", b"1")
        await writer.close("r")
        events = await asyncio.wait_for(follower, timeout=10)
        assert [(e.id, e.data) for e in events] == [("1", b"0"), ("2", b"1")]
        assert await reader.has("r")
        assert ids(await collect(reader, "r", "1")) == [2]
    finally:
        keys = [key async for key in writer.redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await writer.redis.delete(*keys)
        await writer.aclose()
        await reader.aclose()
