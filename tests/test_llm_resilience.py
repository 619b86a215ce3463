"""The pieces in front of the LLM: gate, retries, breaker, response cache, usage and budget.

Time is faked wherever it matters: the gate and breaker get a fake clock (and the gate a
fake sleep), retries a recording sleep, so nothing here waits on the wall clock.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from typing import Any

import httpx2
import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from infra.llm.breaker import BreakerOpen, BreakerRegistry, CircuitBreaker, LocalBreakerStore
from infra.llm.cache import ResponseCache, SharedEntry, cache_key
from infra.llm.gate import GateTimeout, LocalGate, Ticket
from infra.llm.retry import (
    LlmUnavailable,
    MalformedToolCall,
    RetryEvent,
    RetryPolicy,
    call_with_retries,
    classify,
)
from infra.llm.usage import Budget, BudgetExceeded, Usage, cost_usd, find_price, usage_from_message

# A broken gate hangs rather than fails: give up quickly instead of at the suite's 120 s.
pytestmark = pytest.mark.timeout(5)

REQUEST = httpx2.Request("POST", "http://llm.test/v1/chat/completions")


class FakeTime:
    """A clock that only moves when a test advances it, and sleeps that end when it passes them."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._seq), future))
        await future

    async def advance(self, seconds: float) -> None:
        target = self.now + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            wake_at, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, wake_at)
            if not future.done():
                future.set_result(None)
            await settle()
        self.now = target
        await settle()


async def settle() -> None:
    """Let every ready task run until it blocks again."""
    for _ in range(20):
        await asyncio.sleep(0)


def status_error(cls: type[openai.APIStatusError], status: int, headers: dict[str, str] | None = None) -> Any:
    response = httpx2.Response(status, headers=headers or {}, request=REQUEST)
    return cls("secret prompt text in the message", response=response, body=None)


# --- gate ---------------------------------------------------------------------------------


async def hold(gate: LocalGate, release: asyncio.Event, admitted: list[str], name: str, **slot: Any) -> Ticket:
    async with gate.slot(**slot) as ticket:
        admitted.append(name)
        await release.wait()
    return ticket


async def test_gate_limits_concurrency_and_queues_the_rest() -> None:
    gate = LocalGate(max_concurrency=2, rpm=None, tpm=None)
    release = asyncio.Event()
    admitted: list[str] = []
    tasks = [asyncio.create_task(hold(gate, release, admitted, str(i))) for i in range(5)]
    await settle()
    assert admitted == ["0", "1"]
    assert gate.queue_depth() == 3 and gate.stats().in_flight == 2
    release.set()
    await asyncio.gather(*tasks)
    assert admitted == ["0", "1", "2", "3", "4"]
    stats = gate.stats()
    assert (stats.admitted, stats.in_flight, stats.queued) == (5, 0, 0)


async def test_gate_admits_interactive_before_background_before_eval_fifo_within() -> None:
    gate = LocalGate(max_concurrency=1, rpm=None, tpm=None)
    blocker = asyncio.Event()
    admitted: list[str] = []
    first = asyncio.create_task(hold(gate, blocker, admitted, "first"))
    await settle()
    go = asyncio.Event()
    go.set()
    waiting = []
    for name, priority in [
        ("eval", "eval"),
        ("bg1", "background"),
        ("i1", "interactive"),
        ("bg2", "background"),
    ]:
        waiting.append(asyncio.create_task(hold(gate, go, admitted, name, priority=priority)))
        await settle()
    waiting.append(asyncio.create_task(hold(gate, go, admitted, "i2", priority="interactive")))
    await settle()
    assert gate.queue_depth() == 5
    blocker.set()
    await asyncio.gather(first, *waiting)
    assert admitted == ["first", "i1", "i2", "bg1", "bg2", "eval"]


async def test_gate_rpm_bucket_refills_over_time_and_reports_the_wait() -> None:
    time = FakeTime()
    gate = LocalGate(max_concurrency=10, rpm=2, tpm=None, clock=time.clock, sleep=time.sleep)
    go = asyncio.Event()
    admitted: list[str] = []
    go.set()
    assert (await hold(gate, go, admitted, "a")).waited_s == 0.0
    await hold(gate, go, admitted, "b")
    third = asyncio.create_task(hold(gate, go, admitted, "c"))
    await settle()
    await time.advance(29.0)  # 2 per minute: one request refills in 30 s
    assert admitted == ["a", "b"] and gate.queue_depth() == 1
    await time.advance(1.0)
    ticket = await third
    assert admitted == ["a", "b", "c"]
    assert ticket.waited_s == pytest.approx(30.0)
    assert gate.stats().total_wait_s == pytest.approx(30.0)


async def test_gate_tpm_bucket_waits_for_tokens_and_settle_gives_unused_ones_back() -> None:
    time = FakeTime()
    gate = LocalGate(max_concurrency=10, rpm=None, tpm=600, clock=time.clock, sleep=time.sleep)  # 10 tokens/s
    go = asyncio.Event()
    admitted: list[str] = []
    go.set()
    big = await hold(gate, go, admitted, "big", tokens=600)
    waiting = asyncio.create_task(hold(gate, go, admitted, "next", tokens=300))
    await settle()
    await time.advance(10.0)  # 100 of 300 tokens back
    assert admitted == ["big"]
    big.settle(350)  # the call used 350 of its 600: 250 go back, 350 is enough
    await settle()
    assert admitted == ["big", "next"]
    assert (await waiting).waited_s == pytest.approx(10.0)


async def test_gate_deadline_raises_gate_timeout_and_leaves_the_queue() -> None:
    time = FakeTime()
    gate = LocalGate(max_concurrency=1, rpm=None, tpm=None, clock=time.clock, sleep=time.sleep)
    blocker = asyncio.Event()
    admitted: list[str] = []
    first = asyncio.create_task(hold(gate, blocker, admitted, "first"))
    await settle()
    late = asyncio.create_task(hold(gate, blocker, admitted, "late", deadline=5.0))
    await settle()
    await time.advance(4.9)
    assert not late.done()
    await time.advance(0.1)
    with pytest.raises(GateTimeout) as caught:
        await late
    assert isinstance(caught.value, LlmUnavailable) and caught.value.code == "llm_gate_timeout"
    assert caught.value.waited_s == pytest.approx(5.0)
    assert gate.queue_depth() == 0 and gate.stats().timeouts == 1
    blocker.set()
    await first
    assert admitted == ["first"]


async def test_gate_cancelled_waiter_hands_its_turn_on() -> None:
    gate = LocalGate(max_concurrency=1, rpm=None, tpm=None)
    blocker, go = asyncio.Event(), asyncio.Event()
    admitted: list[str] = []
    go.set()
    first = asyncio.create_task(hold(gate, blocker, admitted, "first"))
    await settle()
    doomed = asyncio.create_task(hold(gate, go, admitted, "doomed"))
    after = asyncio.create_task(hold(gate, go, admitted, "after", priority="background"))
    await settle()
    doomed.cancel()
    await settle()
    assert gate.queue_depth() == 1
    blocker.set()
    await asyncio.gather(first, after)
    assert admitted == ["first", "after"]


# --- retry --------------------------------------------------------------------------------


class Calls:
    """A call that fails with `errors` in turn, then answers; sleeps are recorded and move the clock."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.count = 0
        self.now = 0.0
        self.sleeps: list[float] = []

    async def __call__(self) -> str:
        self.count += 1
        if self.errors:
            raise self.errors.pop(0)
        return "answer"

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


NO_JITTER = RetryPolicy(max_attempts=5, base_delay_s=1.0, max_delay_s=5.0, jitter=False)


async def run(calls: Calls, policy: RetryPolicy = NO_JITTER, deadline: float | None = None, **kw: Any) -> str:
    return await call_with_retries(calls, policy=policy, deadline=deadline, sleep=calls.sleep, clock=calls.clock, **kw)


def test_backoff_doubles_and_is_capped() -> None:
    assert [NO_JITTER.backoff_s(n) for n in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_full_jitter_stays_between_zero_and_the_capped_backoff() -> None:
    policy = RetryPolicy(max_attempts=9, base_delay_s=1.0, max_delay_s=5.0)
    rng = random.Random(1)
    for retry in range(8):
        ceiling = min(5.0, 2.0**retry)
        delays = [policy.backoff_s(retry, rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > 0.8 * ceiling and min(delays) < 0.2 * ceiling  # the full range is used


async def test_server_errors_are_retried_with_growing_backoff_then_give_up() -> None:
    calls = Calls(*[status_error(openai.InternalServerError, 500) for _ in range(5)])
    with pytest.raises(LlmUnavailable) as caught:
        await run(calls)
    assert calls.sleeps == [1.0, 2.0, 4.0, 5.0]
    error = caught.value
    assert (error.code, error.attempts, error.last_error) == (
        "llm_server_error",
        5,
        "InternalServerError(500)",
    )
    assert "secret" not in str(error) and "secret" not in error.reason


async def test_transient_failures_then_success_returns_the_answer_and_reports_each_retry() -> None:
    calls = Calls(openai.APITimeoutError(request=REQUEST), openai.APIConnectionError(request=REQUEST))
    events: list[RetryEvent] = []
    assert await run(calls, on_retry=events.append) == "answer"
    assert calls.count == 3
    assert [(e.attempt, e.code, e.delay_s) for e in events] == [
        (1, "llm_timeout", 1.0),
        (2, "llm_connection_error", 2.0),
    ]


@pytest.mark.parametrize(
    ("headers", "pause"),
    [({"retry-after": "7"}, 7.0), ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5), ({}, 1.0)],
)
async def test_rate_limit_honours_retry_after(headers: dict[str, str], pause: float) -> None:
    calls = Calls(status_error(openai.RateLimitError, 429, headers))
    assert await run(calls) == "answer"
    assert calls.sleeps == [pause]


@pytest.mark.parametrize(
    ("cls", "status"),
    [
        (openai.BadRequestError, 400),
        (openai.AuthenticationError, 401),
        (openai.PermissionDeniedError, 403),
        (openai.NotFoundError, 404),
        (openai.UnprocessableEntityError, 422),
    ],
)
async def test_client_errors_are_not_retried(cls: type[openai.APIStatusError], status: int) -> None:
    calls = Calls(status_error(cls, status))
    with pytest.raises(LlmUnavailable) as caught:
        await run(calls)
    assert calls.count == 1 and calls.sleeps == []
    assert (caught.value.code, caught.value.attempts) == ("llm_client_error", 1)
    assert caught.value.last_error == f"{cls.__name__}({status})"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (status_error(openai.RateLimitError, 429, {"retry-after": "2"}), (True, 2.0)),
        (status_error(openai.InternalServerError, 503), (True, None)),
        (status_error(openai.APIStatusError, 502), (True, None)),
        (status_error(openai.BadRequestError, 400), (False, None)),
        (status_error(openai.BadRequestError, 400, {"x-should-retry": "true"}), (True, None)),
        (openai.APITimeoutError(request=REQUEST), (True, None)),
        (openai.APIConnectionError(request=REQUEST), (True, None)),
        (MalformedToolCall("args did not parse"), (True, None)),
        (ValueError("a bug"), (False, None)),
    ],
)
def test_classify(error: BaseException, expected: tuple[bool, float | None]) -> None:
    assert classify(error) == expected


async def test_a_pause_past_the_deadline_is_not_taken() -> None:
    calls = Calls(*[status_error(openai.InternalServerError, 500) for _ in range(5)])
    with pytest.raises(LlmUnavailable) as caught:
        await run(calls, deadline=5.0)  # pauses 1, 2 (t=3), then 4 would end at 7
    assert calls.sleeps == [1.0, 2.0]
    assert (caught.value.code, caught.value.attempts) == ("llm_deadline", 3)


async def test_a_retry_after_past_the_deadline_gives_up_at_once() -> None:
    calls = Calls(status_error(openai.RateLimitError, 429, {"retry-after": "30"}))
    with pytest.raises(LlmUnavailable) as caught:
        await run(calls, deadline=10.0)
    assert calls.sleeps == [] and caught.value.code == "llm_deadline"


async def test_an_expired_deadline_makes_no_call() -> None:
    calls = Calls()
    calls.now = 10.0
    with pytest.raises(LlmUnavailable) as caught:
        await run(calls, deadline=10.0)
    assert calls.count == 0 and (caught.value.code, caught.value.attempts) == ("llm_deadline", 0)


async def test_an_attempt_is_cut_off_at_the_deadline() -> None:
    never = asyncio.Event()

    async def hangs() -> None:
        await never.wait()

    loop_time = asyncio.get_running_loop().time
    with pytest.raises(LlmUnavailable) as caught:
        await call_with_retries(hangs, policy=NO_JITTER, deadline=loop_time() + 0.05, clock=loop_time)
    assert (caught.value.code, caught.value.attempts) == ("llm_deadline", 1)


async def test_malformed_tool_call_is_retried_and_other_exceptions_propagate() -> None:
    calls = Calls(MalformedToolCall("bad json"))
    assert await run(calls) == "answer" and calls.count == 2
    bug = Calls(KeyError("choices"))
    with pytest.raises(KeyError):
        await run(bug)
    assert bug.count == 1


async def test_a_gate_timeout_inside_the_call_ends_the_retries_as_is() -> None:
    calls = Calls(GateTimeout("interactive", 2.0, 3), status_error(openai.InternalServerError, 500))
    with pytest.raises(GateTimeout):
        await run(calls)
    assert calls.count == 1 and calls.sleeps == []


async def test_retries_stop_when_the_breaker_opens() -> None:
    time = FakeTime()
    breaker = CircuitBreaker("llm", failure_threshold=2, reset_after_s=30.0, clock=time.clock)
    calls = Calls(*[status_error(openai.InternalServerError, 500) for _ in range(5)])
    with pytest.raises(LlmUnavailable) as caught:
        await run(calls, breaker=breaker)
    assert (caught.value.code, caught.value.attempts, calls.count) == ("llm_breaker_open", 2, 2)
    assert breaker.state == "open"


# --- breaker ------------------------------------------------------------------------------


async def test_breaker_opens_after_consecutive_failures_and_rejects() -> None:
    time = FakeTime()
    breaker = CircuitBreaker("api", failure_threshold=3, reset_after_s=10.0, clock=time.clock)
    for _ in range(2):
        await breaker.admit()
        await breaker.record_failure()
    await breaker.record_success()  # a success resets the count
    for _ in range(2):
        await breaker.record_failure()
    assert breaker.state == "closed"
    await breaker.record_failure()
    assert breaker.state == "open"
    time.now = 4.0
    with pytest.raises(BreakerOpen) as caught:
        await breaker.admit()
    assert caught.value.code == "llm_breaker_open" and caught.value.retry_in_s == pytest.approx(6.0)
    assert breaker.snapshot() == {
        "name": "api",
        "state": "open",
        "consecutive_failures": 3,
        "opened_at": 0.0,
        "half_open_in_s": 6.0,
    }


async def open_breaker(time: FakeTime) -> CircuitBreaker:
    breaker = CircuitBreaker("api", failure_threshold=1, reset_after_s=10.0, clock=time.clock)
    await breaker.record_failure()
    time.now = 10.0
    assert breaker.state == "half_open"
    return breaker


async def test_half_open_lets_one_probe_through_and_its_success_closes() -> None:
    time = FakeTime()
    breaker = await open_breaker(time)
    await breaker.admit()  # the probe
    with pytest.raises(BreakerOpen):
        await breaker.admit()
    await breaker.record_success()
    assert breaker.state == "closed" and breaker.snapshot()["consecutive_failures"] == 0
    await breaker.admit()


async def test_half_open_probe_failure_reopens() -> None:
    time = FakeTime()
    breaker = await open_breaker(time)
    await breaker.admit()
    await breaker.record_failure()
    assert breaker.state == "open" and breaker.snapshot()["opened_at"] == 10.0
    with pytest.raises(BreakerOpen):
        await breaker.admit()


async def test_a_vanished_probe_expires() -> None:
    time = FakeTime()
    breaker = await open_breaker(time)
    await breaker.admit()  # this probe never reports back
    time.now = 19.0
    with pytest.raises(BreakerOpen):
        await breaker.admit()
    time.now = 20.0
    await breaker.admit()


async def test_registry_keeps_one_breaker_per_endpoint_and_a_store_is_shared() -> None:
    registry = BreakerRegistry(failure_threshold=1, reset_after_s=5.0)
    a = registry.for_endpoint("HTTPS://API.example.com/v1/")
    assert registry.for_endpoint("https://api.example.com/v1") is a
    assert registry.for_endpoint("http://localhost:8000/v1") is not a
    await a.record_failure()
    assert [s["state"] for s in registry.snapshots()] == ["open", "closed"]
    store = LocalBreakerStore()  # two processes, one store
    here, there = (CircuitBreaker("x", 1, 5.0, store=store) for _ in range(2))
    await here.record_failure()
    with pytest.raises(BreakerOpen):
        await there.admit()


# --- cache --------------------------------------------------------------------------------


def test_cache_key_is_stable_and_sensitive_to_what_matters() -> None:
    messages = [SystemMessage("be brief"), HumanMessage("where is order 10002?")]
    params = {"temperature": 0, "tools": [{"name": "a", "x": 1}]}
    key = cache_key("gpt-4o-mini", messages, params)
    assert key == cache_key(
        "gpt-4o-mini",
        [{"role": "system", "content": "be brief"}, {"role": "user", "content": "where is order 10002?"}],
        {"tools": [{"x": 1, "name": "a"}], "temperature": 0},
    )
    assert key != cache_key("gpt-4o", messages, params)
    assert key != cache_key("gpt-4o-mini", messages, {**params, "temperature": 1})
    assert key != cache_key("gpt-4o-mini", messages, {**params, "tools": [{"name": "b", "x": 1}]})
    assert key != cache_key("gpt-4o-mini", messages[::-1], params)
    assert key != cache_key("gpt-4o-mini", [SystemMessage("be brief"), AIMessage("where is order 10002?")], params)
    with pytest.raises(TypeError):
        cache_key("m", messages, {"tool": object()})


def test_cache_key_covers_tool_calls_but_not_their_random_ids() -> None:
    def asked(args: dict[str, Any], call_id: str) -> AIMessage:
        return AIMessage("", tool_calls=[{"name": "get_order", "args": args, "id": call_id}])

    wire = {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"id": "z", "function": {"name": "get_order", "arguments": '{"order_id": 1}'}}],
    }
    assert cache_key("m", [asked({"order_id": 1}, "a")]) == cache_key("m", [asked({"order_id": 1}, "b")])
    assert cache_key("m", [asked({"order_id": 1}, "a")]) == cache_key("m", [wire])
    assert cache_key("m", [asked({"order_id": 1}, "a")]) != cache_key("m", [asked({"order_id": 2}, "a")])


DEPS = {"order:10002": "2024-05-01T10:00:00"}


async def test_cache_hit_miss_and_refused_side_effects() -> None:
    cache: ResponseCache[str] = ResponseCache(max_entries=10, ttl_s=60.0)
    assert await cache.aget("k", DEPS) is None
    assert await cache.aput("k", "answer", DEPS, cacheable=True)
    assert await cache.aget("k", DEPS) == "answer"
    assert not await cache.aput("refund", "refunded", DEPS, cacheable=False)
    assert await cache.aget("refund", DEPS) is None
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.refused, stats.size) == (1, 2, 1, 1)


async def test_cache_dependency_mismatch_is_a_miss_and_evicts() -> None:
    cache: ResponseCache[str] = ResponseCache(max_entries=10, ttl_s=60.0)
    await cache.aput("k", "shipped", DEPS, cacheable=True)
    assert await cache.apeek("k") == "shipped"
    assert await cache.aget("k", {"order:10002": "2024-05-02T09:00:00"}) is None
    assert await cache.aget("k", DEPS) is None  # gone, even for the old version
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.stale, stats.size) == (0, 2, 1, 0)


async def test_cache_entries_expire() -> None:
    time = FakeTime()
    cache: ResponseCache[str] = ResponseCache(max_entries=10, ttl_s=60.0, clock=time.clock)
    await cache.aput("k", "v", DEPS, cacheable=True)
    time.now = 59.9
    assert await cache.aget("k", DEPS) == "v"
    time.now = 60.0
    assert await cache.aget("k", DEPS) is None
    stats = cache.stats()
    assert (stats.expired, stats.misses, stats.size) == (1, 1, 0)


async def test_cache_evicts_the_least_recently_used() -> None:
    cache: ResponseCache[str] = ResponseCache(max_entries=2, ttl_s=60.0)
    await cache.aput("a", "A", {}, cacheable=True)
    await cache.aput("b", "B", {}, cacheable=True)
    assert await cache.aget("a", {}) == "A"  # now b is the oldest
    await cache.aput("c", "C", {}, cacheable=True)
    assert [await cache.aget(k, {}) for k in "abc"] == ["A", None, "C"]
    assert cache.stats().evicted == 1


async def test_cache_second_tier_is_written_and_read_through() -> None:
    class DictTier:
        def __init__(self) -> None:
            self.entries: dict[str, SharedEntry[str]] = {}

        async def load(self, key: str) -> SharedEntry[str] | None:
            return self.entries.get(key)

        async def store(self, key: str, entry: SharedEntry[str]) -> None:
            self.entries[key] = entry

        async def delete(self, key: str) -> None:
            self.entries.pop(key, None)

    tier = DictTier()
    await ResponseCache[str](10, 60.0, second_tier=tier).aput("k", "v", DEPS, cacheable=True)
    assert tier.entries["k"] == SharedEntry("v", DEPS, 60.0)
    other = ResponseCache[str](10, 60.0, second_tier=tier)
    assert await other.aget("k", DEPS) == "v"
    # Stale for this reader: dropped from its memory only, since the shared copy may be newer than what it presents.
    assert await other.aget("k", {}) is None and other.stats().size == 0 and "k" in tier.entries
    tier.entries["k"] = SharedEntry("v2", {"order:10002": "new"}, 60.0)  # another process stored a newer one
    assert await other.aget("k", {"order:10002": "new"}) == "v2"
    await other.ainvalidate("k")
    assert "k" not in tier.entries and await other.aget("k", {"order:10002": "new"}) is None


# --- usage and budget ---------------------------------------------------------------------

PRICES = {"gpt-4o": (0.0025, 0.01), "gpt-4o-mini": (0.00015, 0.0006)}


def test_prices_match_exactly_then_by_longest_prefix() -> None:
    assert find_price("gpt-4o", PRICES) == (0.0025, 0.01)
    assert find_price("gpt-4o-mini-2024-07-18", PRICES) == (0.00015, 0.0006)
    assert find_price("gpt-4o-2024-08-06", PRICES) == (0.0025, 0.01)
    assert find_price("llama3", PRICES) is None
    assert cost_usd("gpt-4o-mini-2024-07-18", 1000, 2000, PRICES) == pytest.approx(0.00015 + 0.0012)
    assert cost_usd("llama3", 1000, 2000, PRICES) == 0.0


def test_usage_from_message_and_addition() -> None:
    message = AIMessage(
        "hi",
        usage_metadata={"input_tokens": 1000, "output_tokens": 500, "total_tokens": 1500},
        response_metadata={"model_name": "gpt-4o-mini-2024-07-18"},
    )
    first = usage_from_message(message, PRICES)
    assert (first.prompt_tokens, first.completion_tokens, first.calls) == (1000, 500, 1)
    assert first.cost_usd == pytest.approx(0.00015 + 0.0003)
    unpriced = usage_from_message(message, PRICES, model="llama3")
    total = first + unpriced
    assert (total.total_tokens, total.calls, total.unpriced_models) == (3000, 2, frozenset({"llama3"}))
    assert total.cost_usd == pytest.approx(first.cost_usd)
    assert total.as_dict()["prompt_tokens"] == 2000
    assert usage_from_message(AIMessage("no metadata")) == Usage(calls=1)


def test_budget_checks_tokens_and_cost() -> None:
    budget = Budget(max_tokens=1000, max_cost_usd=0.01)
    budget.check(Usage(prompt_tokens=600, completion_tokens=400, cost_usd=0.01))  # at the limit is fine
    with pytest.raises(BudgetExceeded) as caught:
        budget.check(Usage(prompt_tokens=600, completion_tokens=300), next_tokens=200)
    assert (caught.value.code, caught.value.limit) == ("llm_budget_exceeded", "tokens")
    assert isinstance(caught.value, LlmUnavailable)
    with pytest.raises(BudgetExceeded) as caught:
        budget.check(Usage(cost_usd=0.011))
    assert caught.value.limit == "cost_usd"
    left = budget.remaining(Usage(prompt_tokens=700, cost_usd=0.004))
    assert left.tokens == 300 and left.cost_usd == pytest.approx(0.006)
    assert Budget(None, None).remaining(Usage(prompt_tokens=10**9)).tokens is None
