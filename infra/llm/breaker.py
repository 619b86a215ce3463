"""A circuit breaker per LLM endpoint, so a dead endpoint costs a fast `BreakerOpen`, not a timeout.

    closed --(failure_threshold consecutive failures)--> open
    open --(reset_after_s later, one caller)--> half_open (that caller is the probe)
    half_open --probe succeeds--> closed;  --probe fails--> open again

The state lives in a `BreakerStore`, so processes sharing a store (Redis, later) share
one breaker per endpoint. Every transition is a pure function of the stored state and
the time, which a shared store may re-run when it loses a write race.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal, Protocol, TypedDict
from urllib.parse import urlsplit, urlunsplit

from infra import metrics

BreakerStateName = Literal["closed", "open", "half_open"]
Clock = Callable[[], float]


class BreakerOpen(Exception):
    """The endpoint is considered down; callers go to the next rung instead of waiting."""

    code = "llm_breaker_open"

    def __init__(self, name: str, retry_in_s: float) -> None:
        super().__init__(f"circuit breaker {name!r} is open (next probe in {retry_in_s:.1f}s)")
        self.name = name
        self.retry_in_s = retry_in_s


@dataclass(frozen=True)
class BreakerState:
    state: BreakerStateName = "closed"
    consecutive_failures: int = 0
    opened_at: float | None = None
    # When the current half-open probe was let through; a probe whose caller vanished
    # (cancelled, crashed process) expires after `reset_after_s`, so the breaker never sticks.
    probe_started_at: float | None = None


class BreakerStore(Protocol):
    async def load(self, name: str) -> BreakerState: ...

    async def update(self, name: str, change: Callable[[BreakerState], BreakerState]) -> BreakerState:
        """Apply `change` atomically and return the new state. `change` is pure, so a shared
        store may run it again after a conflicting write."""
        ...


class LocalBreakerStore:
    """In-process state: one event loop, and nothing awaits inside `update`, so it is atomic."""

    def __init__(self) -> None:
        self._states: dict[str, BreakerState] = {}

    async def load(self, name: str) -> BreakerState:
        return self._states.get(name, BreakerState())

    async def update(self, name: str, change: Callable[[BreakerState], BreakerState]) -> BreakerState:
        new = change(self._states.get(name, BreakerState()))
        self._states[name] = new
        return new


class BreakerSnapshot(TypedDict):
    name: str
    state: BreakerStateName
    consecutive_failures: int
    opened_at: float | None
    half_open_in_s: float | None


class CircuitBreaker:
    """`clock` must be one all sharers of the store agree on: `time.monotonic` in one process,
    `time.time` across hosts."""

    def __init__(
        self,
        name: str,
        failure_threshold: int,
        reset_after_s: float,
        clock: Clock = time.monotonic,
        store: BreakerStore | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self._clock = clock
        self._store: BreakerStore = store if store is not None else LocalBreakerStore()
        self._remember(BreakerState())  # the state as of our last read or write of the store

    @property
    def state(self) -> BreakerStateName:
        """As last seen; an open breaker whose reset time has passed reads as half_open."""
        last = self._last
        if last.state == "open" and self._half_open_in_s(last, self._clock()) == 0.0:
            return "half_open"
        return last.state

    async def admit(self) -> None:
        """Let a call through, or raise `BreakerOpen`. While half-open only one probe passes."""
        now = self._clock()
        allowed = False

        def change(current: BreakerState) -> BreakerState:
            nonlocal allowed
            allowed = current.state == "closed"
            if current.state == "open" and self._half_open_in_s(current, now) == 0.0:
                allowed = True
                return replace(current, state="half_open", probe_started_at=now)
            if current.state == "half_open" and self._probe_expired(current, now):
                allowed = True
                return replace(current, probe_started_at=now)
            return current

        self._remember(await self._store.update(self.name, change))
        if not allowed:
            raise BreakerOpen(self.name, self._next_probe_in_s(self._last, now))

    async def record_success(self) -> None:
        def change(current: BreakerState) -> BreakerState:
            if current.state == "open":
                return current  # a late answer to a call let through before the breaker opened
            return BreakerState()

        self._remember(await self._store.update(self.name, change))

    async def record_failure(self) -> None:
        now = self._clock()

        def change(current: BreakerState) -> BreakerState:
            if current.state == "open":
                return current  # late failures must not push the probe further out
            failures = current.consecutive_failures + 1
            if current.state == "half_open" or failures >= self.failure_threshold:
                return BreakerState("open", failures, opened_at=now)
            return replace(current, consecutive_failures=failures)

        self._remember(await self._store.update(self.name, change))

    def snapshot(self) -> BreakerSnapshot:
        """For /health: as last seen by this process (`refresh` first to read a shared store)."""
        last = self._last
        return BreakerSnapshot(
            name=self.name,
            state=self.state,
            consecutive_failures=last.consecutive_failures,
            opened_at=last.opened_at,
            half_open_in_s=self._half_open_in_s(last, self._clock()) if last.state == "open" else None,
        )

    async def refresh(self) -> BreakerSnapshot:
        self._remember(await self._store.load(self.name))
        return self.snapshot()

    def _remember(self, state: BreakerState) -> None:
        self._last = state
        metrics.BREAKER_STATE.labels(self.name).set(metrics.BREAKER_CODES[self.state])

    def _half_open_in_s(self, state: BreakerState, now: float) -> float:
        opened_at = state.opened_at if state.opened_at is not None else now
        return max(0.0, opened_at + self.reset_after_s - now)

    def _next_probe_in_s(self, state: BreakerState, now: float) -> float:
        if state.state == "half_open" and state.probe_started_at is not None:
            return max(0.0, state.probe_started_at + self.reset_after_s - now)
        return self._half_open_in_s(state, now)

    def _probe_expired(self, state: BreakerState, now: float) -> bool:
        return state.probe_started_at is None or now - state.probe_started_at >= self.reset_after_s


def endpoint_key(base_url: str) -> str:
    """One breaker per endpoint however its URL is spelled: `HTTPS://Api.X/v1/` == `https://api.x/v1`."""
    text = base_url.strip()
    parts = urlsplit(text)
    if not parts.scheme or not parts.netloc:
        return text.rstrip("/")  # not a URL (e.g. "simulator (in-process)"): a plain name
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query, ""))


class BreakerRegistry:
    """One `CircuitBreaker` per endpoint, all with the same settings and store."""

    def __init__(
        self,
        failure_threshold: int,
        reset_after_s: float,
        *,
        store: BreakerStore | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self._store: BreakerStore = store if store is not None else LocalBreakerStore()
        self._clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}

    def for_endpoint(self, base_url: str) -> CircuitBreaker:
        name = endpoint_key(base_url)
        breaker = self._breakers.get(name)
        if breaker is None:
            breaker = CircuitBreaker(name, self.failure_threshold, self.reset_after_s, self._clock, self._store)
            self._breakers[name] = breaker
        return breaker

    def snapshots(self) -> list[BreakerSnapshot]:
        return [breaker.snapshot() for breaker in self._breakers.values()]
