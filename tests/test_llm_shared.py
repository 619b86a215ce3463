"""The LLM gate's budget and the response cache's second tier, shared through a real Redis.

Each simulated process has its own Redis client (its own connections) and its own gate or
service; all of them share one `redis-server` under a key prefix of the test's own. Limits
are small and leases short, so nothing waits longer than a fraction of a second.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from redis.asyncio import Redis

from infra.llm.cache import ResponseCache
from infra.llm.gate import GateTimeout, LocalGate, Priority
from infra.llm.redis_cache import RedisCacheTier
from infra.llm.redis_gate import RedisGate
from infra.llm.service import LlmResult, LlmService
from infra.settings import Settings
from routers.llm_tier import IntentChoice

pytestmark = pytest.mark.timeout(10)

DEPS = {"order:10002": "2026-05-01T10:00:00"}


class Processes:
    """Processes sharing one Redis: each client (and so each gate or service) has its own connections."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.prefix = f"t{uuid.uuid4().hex[:8]}"
        self.clients: list[Redis] = []

    def client(self) -> Redis:
        client = Redis.from_url(self.url)
        self.clients.append(client)
        return client

    def gate(self, max_concurrency: int = 10, rpm: int | None = None, tpm: int | None = None, **kw: Any) -> RedisGate:
        return RedisGate(self.client(), self.prefix, max_concurrency, rpm, tpm, poll_s=0.01, **kw)

    def service(self) -> LlmService:
        return LlmService.from_settings(Settings(redis_prefix=self.prefix), redis=self.client())

    def cache(self, ttl_s: float = 60.0) -> ResponseCache[dict[str, Any]]:
        return ResponseCache(10, ttl_s, second_tier=RedisCacheTier(self.client(), self.prefix, "answers"))

    async def keys(self) -> list[bytes]:
        return [key async for key in self.clients[0].scan_iter(match=f"*{self.prefix}*")]

    async def close(self) -> None:
        if self.clients and (keys := await self.keys()):
            await self.clients[0].delete(*keys)
        for client in self.clients:
            await client.aclose()


@pytest.fixture
async def processes(redis_url: str) -> AsyncIterator[Processes]:
    shared = Processes(redis_url)
    yield shared
    await shared.close()


def soon(seconds: float) -> float:
    return time.monotonic() + seconds


# --- the gate -----------------------------------------------------------------------------


async def test_two_processes_never_hold_more_than_the_shared_concurrency(processes: Processes) -> None:
    gates = [processes.gate(max_concurrency=2), processes.gate(max_concurrency=2)]
    running = peak = 0

    async def call(gate: RedisGate) -> None:
        nonlocal running, peak
        async with gate.slot():
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.03)
            running -= 1

    await asyncio.gather(*(call(gate) for gate in gates for _ in range(4)))
    assert peak == 2  # not 4: the limit is one for both processes
    assert [gate.stats().admitted for gate in gates] == [4, 4]
    assert all(gate.stats().in_flight == 0 and gate.queue_depth() == 0 for gate in gates)


async def test_two_processes_share_one_rpm_budget(processes: Processes) -> None:
    a, b = processes.gate(rpm=3), processes.gate(rpm=3)  # one request back every 20 s
    for gate in (a, b, a):
        async with gate.slot():
            pass
    for gate in (a, b):
        with pytest.raises(GateTimeout):
            async with gate.slot(deadline=soon(0.1)):
                pass
    assert [(g.stats().admitted, g.stats().timeouts) for g in (a, b)] == [(2, 1), (1, 1)]


async def test_a_dead_processs_slot_is_reclaimed_after_its_lease(processes: Processes) -> None:
    async def frozen(_: float) -> None:
        await asyncio.Event().wait()  # this process never renews its lease: it is as good as dead

    dead = processes.gate(max_concurrency=1, lease_s=0.2, sleep=frozen)
    held = dead.slot()
    await held.__aenter__()  # and it never leaves the slot
    alive = processes.gate(max_concurrency=1)
    async with alive.slot(deadline=soon(2.0)) as ticket:
        assert ticket.waited_s > 0.1  # not before the lease lapsed
    await held.__aexit__(None, None, None)  # tidy the loop up; the slot is long gone


async def test_a_live_holder_keeps_its_slot_past_its_lease(processes: Processes) -> None:
    holder, other = processes.gate(max_concurrency=1, lease_s=0.15), processes.gate(max_concurrency=1)
    async with holder.slot():
        with pytest.raises(GateTimeout):  # renewed every 50 ms: still held after 0.4 s
            async with other.slot(deadline=soon(0.4)):
                pass
    async with other.slot(deadline=soon(1.0)):
        pass


async def test_settle_gives_unused_tokens_back_to_the_shared_tpm_bucket(processes: Processes) -> None:
    a, b = processes.gate(tpm=600), processes.gate(tpm=600)  # 10 tokens a second
    async with a.slot(tokens=600) as ticket:
        ticket.settle(100)  # 500 unused tokens go back with the release
    async with b.slot(tokens=400, deadline=soon(0.5)):  # without them, a 40 s wait
        pass
    with pytest.raises(GateTimeout):  # about 100 are left for everyone, not 600 per process
        async with a.slot(tokens=400, deadline=soon(0.1)):
            pass


async def test_a_deadline_raises_gate_timeout_at_the_head_and_in_the_queue(processes: Processes) -> None:
    holder, gate = processes.gate(max_concurrency=1), processes.gate(max_concurrency=1)

    async def wait_in(priority: Priority) -> GateTimeout:
        with pytest.raises(GateTimeout) as caught:
            async with gate.slot(priority=priority, deadline=soon(0.15)):
                pass
        return caught.value

    async with holder.slot():
        waits = asyncio.gather(wait_in("interactive"), wait_in("background"))
        await asyncio.sleep(0.05)
        assert gate.queue_depth() == 2
        head, queued = await waits
    assert (head.code, head.priority, queued.priority) == ("llm_gate_timeout", "interactive", "background")
    stats = gate.stats()
    assert (stats.timeouts, stats.admitted, stats.in_flight, stats.queued) == (2, 0, 0, 0)


async def test_priority_order_holds_within_a_process(processes: Processes) -> None:
    other, gate = processes.gate(max_concurrency=1), processes.gate(max_concurrency=1)
    admitted: list[str] = []

    async def call(name: str, priority: Priority) -> None:
        async with gate.slot(priority=priority):
            admitted.append(name)

    async with other.slot():  # another process holds the only slot
        calls = []
        arrivals: list[tuple[str, Priority]] = [("eval", "eval"), ("bg1", "background"), ("i1", "interactive")]
        for name, priority in [*arrivals, ("bg2", "background")]:
            calls.append(asyncio.create_task(call(name, priority)))
            await asyncio.sleep(0.02)  # each arrives while the earlier ones wait on the shared slot
        calls.append(asyncio.create_task(call("i2", "interactive")))
        await asyncio.sleep(0.02)
    await asyncio.gather(*calls)
    assert admitted == ["i1", "i2", "bg1", "bg2", "eval"]


# --- the cache's second tier --------------------------------------------------------------


async def test_a_response_cached_by_one_process_is_a_hit_in_another(processes: Processes) -> None:
    first, second = processes.service(), processes.service()
    messages = [HumanMessage("could the cost of #10009 go back onto my card?")]
    answered = await first.ainvoke("router", messages, schema=IntentChoice, cache_deps={})
    cached = await second.ainvoke("router", messages, schema=IntentChoice, cache_deps={})
    assert not answered.cached and cached.cached
    assert cached.message.content == answered.message.content and cached.message.id is None
    assert isinstance(cached.parsed, IntentChoice) and cached.parsed == answered.parsed
    assert second.responses.stats().hits == 1


async def test_a_message_with_tool_calls_survives_the_shared_tier(processes: Processes) -> None:
    writer, reader = processes.service(), processes.service()
    call = {"name": "get_order", "args": {"order_id": 10002}, "id": "call_1", "type": "tool_call"}
    usage = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
    message = AIMessage("", tool_calls=[call], usage_metadata=usage, response_metadata={"model_name": "gpt-4o"})
    await writer.responses.aput("k", LlmResult(message, {"calls": 1}), DEPS, cacheable=True)
    hit = await reader.responses.aget("k", DEPS)
    assert hit is not None and hit.message == message and hit.usage == {"calls": 1}


async def test_a_dependency_change_makes_a_shared_entry_a_miss(processes: Processes) -> None:
    writer, reader = processes.cache(), processes.cache()
    answer = {"answer": "shipped", "orders": [10002]}
    await writer.aput("where is 10002", answer, DEPS, cacheable=True)
    assert await reader.aget("where is 10002", {"order:10002": "2026-05-02T09:00:00"}) is None
    assert reader.stats().stale == 1
    assert await reader.aget("where is 10002", DEPS) == answer  # a stale read elsewhere leaves it shared

    # The writer stores a newer answer: the reader's copy in memory is stale, the shared one is not.
    newer = {"answer": "delivered", "orders": [10002]}
    await writer.aput("where is 10002", newer, {"order:10002": "v2"}, cacheable=True)
    assert await reader.aget("where is 10002", {"order:10002": "v2"}) == newer


async def test_shared_entries_expire(processes: Processes) -> None:
    writer = processes.cache(ttl_s=0.2)
    await writer.aput("q", {"answer": "a"}, DEPS, cacheable=True)
    assert await processes.cache().aget("q", DEPS) == {"answer": "a"}
    await asyncio.sleep(0.25)
    assert await processes.cache().aget("q", DEPS) is None
    assert await processes.keys() == []


async def test_without_redis_the_service_stays_in_the_process(processes: Processes) -> None:
    embedded = LlmService.from_settings(Settings())
    assert isinstance(embedded.gate, LocalGate) and not isinstance(embedded.gate, RedisGate)
    await embedded.answers.aput("q", {"answer": "a"}, DEPS, cacheable=True)
    assert await processes.cache().aget("q", DEPS) is None
    assert isinstance(processes.service().gate, RedisGate)
