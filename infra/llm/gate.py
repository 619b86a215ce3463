"""The gate in front of the LLM: a concurrency limit, RPM and TPM token buckets, and priorities.

LLM rate limits are the first thing to break under load, so every call waits here
first. Waiting callers are admitted strictly by priority (interactive, then
background, then eval) and FIFO within one; only the head of the queue may take a
slot, so a large request is never starved by a stream of small ones behind it.

Nothing polls: the head sleeps until its tokens will have refilled (or its deadline),
everyone else sleeps until woken, and whoever changes the gate's state wakes the head.

The queue is the gate's; the limits are its `Budget`'s. `LocalGate` admits against the
limits of this process (`LocalBudget`); `RedisGate` (infra.llm.redis_gate) against one
budget shared by every process on a Redis, with the same queue in each process.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Literal, Protocol, get_args

from infra import metrics
from infra.llm.retry import LlmUnavailable

Priority = Literal["interactive", "background", "eval"]
PRIORITIES: tuple[Priority, ...] = get_args(Priority)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]


class GateTimeout(LlmUnavailable):
    """No slot could be had before the caller's deadline (an `LlmUnavailable`: the ladder answers)."""

    code = "llm_gate_timeout"

    def __init__(self, priority: Priority, waited_s: float, queue_depth: int) -> None:
        reason = f"no LLM slot before the deadline ({priority}, waited {waited_s:.3f}s)"
        super().__init__(reason, self.code, attempts=0, last_error="none")
        self.priority = priority
        self.waited_s = waited_s
        self.queue_depth = queue_depth


class Ticket:
    """An admitted call. `waited_s` is the time spent queueing; `settle` corrects the TPM charge."""

    def __init__(self, priority: Priority, tokens: int, waited_s: float, refund: Callable[[int], None]) -> None:
        self.priority = priority
        self.tokens = tokens  # what the TPM bucket has been charged so far
        self.waited_s = waited_s
        self._refund = refund

    def settle(self, actual_tokens: int) -> None:
        """Charge the bucket for what the call really used instead of the estimate.

        May be called again (e.g. as a stream reports usage); each call charges the difference.
        """
        self._refund(self.tokens - actual_tokens)
        self.tokens = actual_tokens


@dataclass(frozen=True)
class GateStats:
    admitted: int
    total_wait_s: float
    max_wait_s: float
    timeouts: int
    in_flight: int
    queued: int


class LlmGate(Protocol):
    def slot(
        self, tokens: int = 0, priority: Priority = "interactive", deadline: float | None = None
    ) -> AbstractAsyncContextManager[Ticket]:
        """Wait for a slot (raising `GateTimeout` past `deadline`, a time of the gate's clock)."""
        ...

    def queue_depth(self) -> int: ...

    def stats(self) -> GateStats: ...


class TokenBucket:
    """`capacity` tokens refilled evenly over a minute. The level may go negative: a call that
    used more than its estimate (or more than the capacity) is paid for by the calls after it."""

    def __init__(self, per_minute: int, now: float) -> None:
        if per_minute <= 0:
            raise ValueError("a bucket needs a positive rate")
        self.capacity = float(per_minute)
        self.rate_per_s = per_minute / 60.0
        self.level = self.capacity
        self._updated = now

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self._updated) * self.rate_per_s)
        self._updated = now

    def wait_s(self, amount: float) -> float:
        """Seconds until `amount` (at most a full bucket) is available; 0 if it is now."""
        missing = min(amount, self.capacity) - self.level
        # A rounding residue after sleeping exactly the computed time must not cost another sleep.
        return missing / self.rate_per_s if missing > 1e-9 else 0.0

    def take(self, amount: float) -> None:
        self.level -= amount

    def give_back(self, amount: float) -> None:
        self.level = min(self.capacity, self.level + amount)


class Budget(Protocol):
    """The limits a gate admits against: concurrency, RPM and TPM. `holder` names one admission."""

    async def take(self, holder: int, tokens: int) -> float | None:
        """Take a slot, a request and `tokens` and return 0.0; or take nothing and return how
        long to wait before trying again (None: until the gate is woken, e.g. by a release)."""
        ...

    async def release(self, holder: int) -> None: ...

    def give_back(self, amount: int) -> None:
        """Return `amount` tokens to the TPM bucket (negative: charge them)."""
        ...


class LocalBudget:
    """The limits of this process. `rpm` or `tpm` None means that limit is off."""

    def __init__(self, max_concurrency: int, rpm: int | None, tpm: int | None, clock: Clock = time.monotonic) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self._clock = clock
        self._max_concurrency = max_concurrency
        now = clock()
        self._rpm = TokenBucket(rpm, now) if rpm is not None else None
        self._tpm = TokenBucket(tpm, now) if tpm is not None else None
        self._held = 0

    async def take(self, holder: int, tokens: int) -> float | None:
        if self._held >= self._max_concurrency:
            return None
        now = self._clock()
        wait = 0.0
        if self._rpm is not None:
            self._rpm.refill(now)
            wait = self._rpm.wait_s(1)
        if self._tpm is not None:
            self._tpm.refill(now)
            wait = max(wait, self._tpm.wait_s(tokens))
        if wait > 0.0:
            return wait
        if self._rpm is not None:
            self._rpm.take(1)
        if self._tpm is not None:
            self._tpm.take(tokens)
        self._held += 1
        return 0.0

    async def release(self, holder: int) -> None:
        self._held -= 1

    def give_back(self, amount: int) -> None:
        if self._tpm is None:
            return
        self._tpm.refill(self._clock())
        if amount > 0:
            self._tpm.give_back(amount)
        else:
            self._tpm.take(-amount)


@dataclass(eq=False)
class _Waiter:
    priority: Priority
    tokens: int
    holder: int
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class Gate:
    """The queue in front of a `Budget`: priorities, FIFO within one, deadlines, and stats."""

    def __init__(self, budget: Budget, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self._budget = budget
        self._clock = clock
        self._sleep = sleep
        self._queues: dict[Priority, deque[_Waiter]] = {p: deque() for p in PRIORITIES}
        self._holders = itertools.count()
        self._in_flight = 0
        self._admitted = 0
        self._total_wait_s = 0.0
        self._max_wait_s = 0.0
        self._timeouts = 0

    def queue_depth(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def stats(self) -> GateStats:
        return GateStats(
            admitted=self._admitted,
            total_wait_s=self._total_wait_s,
            max_wait_s=self._max_wait_s,
            timeouts=self._timeouts,
            in_flight=self._in_flight,
            queued=self.queue_depth(),
        )

    @asynccontextmanager
    async def slot(
        self, tokens: int = 0, priority: Priority = "interactive", deadline: float | None = None
    ) -> AsyncIterator[Ticket]:
        if priority not in self._queues:
            raise ValueError(f"unknown priority {priority!r}")
        waiter = _Waiter(priority, max(0, tokens), next(self._holders))
        ticket = await self._acquire(waiter, deadline)
        try:
            yield ticket
        finally:
            self._in_flight -= 1
            await self._budget.release(waiter.holder)
            self._wake_head()

    async def _acquire(self, waiter: _Waiter, deadline: float | None) -> Ticket:
        started = self._clock()
        self._queues[waiter.priority].append(waiter)
        queued = metrics.GATE_QUEUE.labels(waiter.priority)
        queued.inc()
        try:
            while True:
                waiter.wake.clear()
                within_s: float | None = None  # None: wait to be woken
                if self._head() is waiter:
                    within_s = await self._budget.take(waiter.holder, waiter.tokens)
                    if within_s == 0.0:
                        return self._admit(waiter, started)
                now = self._clock()
                if deadline is not None and now >= deadline:
                    self._timeouts += 1
                    metrics.GATE_TIMEOUTS.labels(waiter.priority).inc()
                    raise GateTimeout(waiter.priority, now - started, self.queue_depth() - 1)
                if deadline is not None:
                    within_s = deadline - now if within_s is None else min(within_s, deadline - now)
                await self._wait(waiter.wake, within_s)
        finally:
            # Admitted, timed out or cancelled: leave the queue and let the next head look.
            queued.dec()
            queue = self._queues[waiter.priority]
            if waiter in queue:
                was_head = self._head() is waiter
                queue.remove(waiter)
                if was_head:
                    self._wake_head()

    def _admit(self, waiter: _Waiter, started: float) -> Ticket:
        self._queues[waiter.priority].remove(waiter)
        self._in_flight += 1
        waited = self._clock() - started
        self._admitted += 1
        self._total_wait_s += waited
        self._max_wait_s = max(self._max_wait_s, waited)
        metrics.GATE_WAIT_SECONDS.labels(waiter.priority).observe(waited)
        self._wake_head()  # there may be room for the next one too
        return Ticket(waiter.priority, waiter.tokens, waited, self._give_back_tokens)

    def _give_back_tokens(self, amount: int) -> None:
        if amount == 0:
            return
        self._budget.give_back(amount)
        if amount > 0:
            self._wake_head()

    def _head(self) -> _Waiter | None:
        for priority in PRIORITIES:
            if self._queues[priority]:
                return self._queues[priority][0]
        return None

    def _wake_head(self) -> None:
        head = self._head()
        if head is not None:
            head.wake.set()

    async def _wait(self, wake: asyncio.Event, within_s: float | None) -> None:
        """Until woken or `within_s` seconds pass, whichever is first (timed by the injected sleep,
        which is why this is not `asyncio.timeout`)."""
        if within_s is None:
            await wake.wait()
            return
        woken = asyncio.ensure_future(wake.wait())
        timer = asyncio.ensure_future(self._sleep(max(0.0, within_s)))
        try:
            await asyncio.wait((woken, timer), return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
            timer.cancel()


class LocalGate(Gate):
    """The in-process gate. `rpm` or `tpm` None means that limit is off."""

    def __init__(
        self,
        max_concurrency: int,
        rpm: int | None,
        tpm: int | None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__(LocalBudget(max_concurrency, rpm, tpm, clock), clock, sleep)
