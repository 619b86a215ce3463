"""Per-run event logs: append-only, strictly increasing ids, live fan-out, a TTL.

A stream reconnect is "replay after id N, then follow". The embedded log lives in
memory (a run's stream is only resumable while its process lives); the Redis log
in scale-out mode is shared by every process.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Event:
    id: str
    event: str
    data: bytes  # compact JSON, encoded once by the producer
    # What the event is about, for thread streams: "run" (a run's frame), "lifecycle", "state".
    kind: str = "run"


class UnknownEventId(ValueError):
    code = "invalid_last_event_id"


class EventLog(Protocol):
    async def append(self, run_id: str, event: str, data: bytes, kind: str = "run") -> str:
        """Append an event and return its id (strictly greater than any before it)."""
        ...

    async def close(self, run_id: str) -> None:
        """No more events for this run; followers finish after the last one."""
        ...

    async def begin(self, run_id: str, first_id: int) -> None:
        """Start (or restart, for a new attempt) the run's log; its ids continue from `first_id`.
        A client resuming with an id from an earlier attempt then gets the new attempt whole."""
        ...

    def follow(self, run_id: str, after: str | None = None) -> AsyncIterator[Event]:
        """Events after `after` (all when None or "-1"), then live ones until closed."""
        ...

    async def has(self, run_id: str) -> bool: ...


@dataclass
class _RunLog:
    base: int = 0  # the id before this log's first event
    events: list[Event] = field(default_factory=list)
    closed: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)


# Ids are 64-bit in every store (Redis stream ids, SQLite integers); a larger one was never issued.
MAX_EVENT_ID = 2**63 - 1


def parse_event_id(value: str | None) -> int:
    """The sequence number after which to replay; 0 replays everything."""
    if value is None or value.strip() in ("", "-1"):
        return 0
    try:
        seq = int(value.strip())
    except ValueError:
        raise UnknownEventId(f"Last-Event-ID {value!r} is not an event id of this stream") from None
    if not 0 <= seq <= MAX_EVENT_ID:
        raise UnknownEventId(f"Last-Event-ID {value!r} is not an event id of this stream")
    return seq


class MemoryEventLog:
    """Ids are the log's base plus the 1-based position in it, so they never collide."""

    def __init__(self, ttl_seconds: float = 3600.0, max_events: int | None = None) -> None:
        """`max_events`: keep only the newest events of a log (for logs that never close)."""
        self._ttl = ttl_seconds
        self._max = max_events
        self._logs: dict[str, _RunLog] = {}
        # Closed logs in closing order; with one TTL that is also expiry order.
        self._expiry: deque[tuple[float, str]] = deque()

    def _purge(self) -> None:
        moment = time.monotonic()
        while self._expiry and self._expiry[0][0] < moment:
            self._logs.pop(self._expiry.popleft()[1], None)

    async def append(self, run_id: str, event: str, data: bytes, kind: str = "run") -> str:
        log = self._logs.setdefault(run_id, _RunLog())
        if log.closed:
            raise RuntimeError(f"event log of run {run_id} is closed")
        event_id = str(log.base + len(log.events) + 1)
        log.events.append(Event(event_id, event, data, kind))
        if self._max is not None and len(log.events) > self._max:
            dropped = len(log.events) - self._max
            del log.events[:dropped]
            log.base += dropped
        log.changed.set()
        log.changed = asyncio.Event()
        return event_id

    async def close(self, run_id: str) -> None:
        log = self._logs.setdefault(run_id, _RunLog())
        log.closed = True
        self._expiry.append((time.monotonic() + self._ttl, run_id))
        log.changed.set()
        self._purge()

    async def has(self, run_id: str) -> bool:
        self._purge()
        return run_id in self._logs

    async def begin(self, run_id: str, first_id: int) -> None:
        self._logs[run_id] = _RunLog(base=first_id - 1)

    async def follow(self, run_id: str, after: str | None = None) -> AsyncIterator[Event]:
        log = self._logs.get(run_id)
        if log is None:
            return
        # Ids are base + position; an id from before this log (an earlier attempt) replays it whole.
        seen = max(parse_event_id(after), log.base)
        while True:
            while seen - log.base < len(log.events):
                event = log.events[max(seen - log.base, 0)]
                seen = int(event.id)
                yield event
            if log.closed:
                return
            await log.changed.wait()
