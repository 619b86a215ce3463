"""The scale-out run queue against a real redis-server: per-thread FIFO, leases, takeover, cancel."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from infra.persistence.redis_queue import RedisRunQueue


def workers(redis: Redis, *names: str, lease_seconds: float = 10.0) -> list[RedisRunQueue]:
    """Queues sharing one Redis, as separate processes would."""
    return [RedisRunQueue(redis, "t", name, lease_seconds) for name in names]


async def test_one_run_per_thread_in_arrival_order_across_workers(redis: Redis) -> None:
    a, b = workers(redis, "a", "b")
    for run in ("r1", "r2", "r3"):
        assert await a.push("t1", run)
    await b.push("t2", "s1")
    first = await a.claim()
    assert first is not None and (first.run_id, first.claims, first.cancel) == ("r1", 1, None)
    second = await b.claim()  # t1 is busy, so the other thread's run
    assert second is not None and second.run_id == "s1"
    assert await b.claim() is None
    assert await a.active("t1") == ["r1", "r2", "r3"]
    assert await a.release("t1", "r1")
    nxt = await b.claim()  # any worker takes the thread's next run
    assert nxt is not None and nxt.run_id == "r2"
    assert not await a.release("t1", "r2")  # not a's lease


async def test_reject_if_busy_is_atomic(redis: Redis) -> None:
    (a,) = workers(redis, "a")
    assert await a.push("t1", "r1", reject_if_busy=True)
    assert not await a.push("t1", "r2", reject_if_busy=True)  # queued, not even running yet
    await a.claim()
    assert not await a.push("t1", "r3", reject_if_busy=True)
    assert await a.active("t1") == ["r1"]


async def test_a_dead_workers_run_is_reaped_and_taken_over_at_the_head(redis: Redis) -> None:
    dead, alive = workers(redis, "dead", "alive", lease_seconds=0.2)
    await dead.push("t1", "r1")
    await dead.push("t1", "r2")
    claimed = await dead.claim()
    assert claimed is not None and claimed.run_id == "r1"
    assert await alive.reap() == []  # the lease still holds
    assert await alive.claim() is None  # and so does the thread
    await asyncio.sleep(0.3)
    assert await alive.reap() == ["r1"]
    taken = await alive.claim()
    assert taken is not None and (taken.run_id, taken.claims) == ("r1", 2)  # before r2: order holds
    renewal = await dead.renew(["r1"])
    assert renewal.lost == ["r1"]  # the old owner learns it must stop
    assert not await dead.release("t1", "r1")


async def test_renewal_keeps_a_live_lease(redis: Redis) -> None:
    a, b = workers(redis, "a", "b", lease_seconds=0.3)
    await a.push("t1", "r1")
    await a.claim()
    for _ in range(4):
        await asyncio.sleep(0.1)
        assert (await a.renew(["r1"])).lost == []
    assert await b.reap() == []


async def test_cancel_dequeues_a_waiting_run_and_signals_an_executing_one(redis: Redis) -> None:
    a, b = workers(redis, "a", "b")
    await a.push("t1", "r1")
    await a.push("t1", "r2")
    await a.claim()
    pubsub = redis.pubsub()
    await pubsub.subscribe(a.cancel_channel)
    assert await b.cancel("t1", "r2", "interrupt") == "dequeued"
    assert await a.active("t1") == ["r1"]
    assert await b.cancel("t1", "r1", "rollback") == "signalled"
    message = None
    while message is None or message["type"] != "message":
        message = await pubsub.get_message(timeout=1)
    assert message["data"] == b"r1\trollback"
    assert (await a.renew(["r1"])).cancels == {"r1": "rollback"}  # the fallback when pub/sub is missed
    assert await b.cancel("t1", "nope", "interrupt") == "none"
    await pubsub.aclose()


async def test_hand_back_requeues_only_own_runs(redis: Redis) -> None:
    a, b = workers(redis, "a", "b")
    await a.push("t1", "r1")
    await a.push("t2", "s1")
    await a.claim()
    await b.claim()
    assert await a.hand_back(["r1", "s1"]) == ["r1"]
    again = await b.claim()
    assert again is not None and (again.run_id, again.claims) == ("r1", 2)


async def test_wait_for_work_wakes_on_push(redis: Redis) -> None:
    a, b = workers(redis, "a", "b")
    await redis.delete(f"{a.key}:wake")
    waiter = asyncio.create_task(b.wait_for_work(5))
    await asyncio.sleep(0.05)
    await a.push("t1", "r1")
    await asyncio.wait_for(waiter, 1)
