"""Per-key limits: runs started per minute, and SSE streams open at once.

`LocalLimits` counts in this process (embedded mode). `RedisLimits` counts in Redis, so
every process of a scale-out deployment shares one budget per key:

    {p:limits}:runs:<key id>      HASH  level, ts       a token bucket of `runs_per_minute`
    {p:limits}:streams:<key id>   ZSET  stream id -> lease expiry (ms, Redis clock)

A stream's lease is renewed every third of `lease_seconds` while it is open and removed
when it ends, so the streams of a process that died stop counting within `lease_seconds`.
Both read the Redis clock (`TIME`), so hosts need not agree on one. A limit of 0 is no limit.

The other limits need no counter: message length is checked on the request, threads per
tenant are counted by the record store, request bodies by `BodySizeLimit`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from redis.exceptions import RedisError

from infra.llm.gate import TokenBucket
from server.errors import ApiError

if TYPE_CHECKING:
    from redis.asyncio import Redis


class RateLimited(ApiError):
    status = 429
    code = "rate_limited"

    def __init__(self, detail: str, retry_after_s: float, *, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.headers = {"Retry-After": str(max(1, math.ceil(retry_after_s)))}


class Limits(Protocol):
    async def admit_run(self, key_id: str) -> None:
        """Count a run against the key's per-minute budget; `RateLimited` when it is spent."""
        ...

    async def open_stream(self, key_id: str) -> StreamSlot:
        """Hold one of the key's stream slots until `StreamSlot.release`; `RateLimited` when all are held."""
        ...


class StreamSlot:
    def __init__(self, release: Callable[[], Awaitable[None]] | None = None) -> None:
        self._release = release

    async def release(self) -> None:
        """Idempotent: the stream's end and the response's background task both call it."""
        release, self._release = self._release, None
        if release is not None:
            await release()


def too_many_runs(limit: int, retry_after_s: float) -> RateLimited:
    return RateLimited(f"More than {limit} runs per minute for this API key; retry later.", retry_after_s)


def too_many_streams(limit: int) -> RateLimited:
    return RateLimited(f"This API key already has {limit} streams open; close one first.", 1.0, code="too_many_streams")


class LocalLimits:
    def __init__(self, runs_per_minute: int, max_streams: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.runs_per_minute = runs_per_minute
        self.max_streams = max_streams
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._streams: dict[str, int] = {}

    async def admit_run(self, key_id: str) -> None:
        if not self.runs_per_minute:
            return
        now = self._clock()
        bucket = self._buckets.setdefault(key_id, TokenBucket(self.runs_per_minute, now))
        bucket.refill(now)
        wait = bucket.wait_s(1)
        if wait > 0:
            raise too_many_runs(self.runs_per_minute, wait)
        bucket.take(1)

    async def open_stream(self, key_id: str) -> StreamSlot:
        if not self.max_streams:
            return StreamSlot()
        if self._streams.get(key_id, 0) >= self.max_streams:
            raise too_many_streams(self.max_streams)
        self._streams[key_id] = self._streams.get(key_id, 0) + 1

        async def release() -> None:
            self._streams[key_id] -= 1
            if not self._streams[key_id]:
                del self._streams[key_id]

        return StreamSlot(release)


# KEYS[1]: the bucket. ARGV[1]: runs per minute. Returns 0 (admitted) or ms until one is.
_TAKE_RUN = """
local per_minute = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'level', 'ts')
local level = per_minute
if state[1] then
  level = math.min(per_minute, tonumber(state[1]) + (now - tonumber(state[2])) * per_minute / 60000)
end
if level < 1 then
  return math.ceil((1 - level) * 60000 / per_minute)
end
redis.call('HSET', KEYS[1], 'level', tostring(level - 1), 'ts', now)
redis.call('PEXPIRE', KEYS[1], 60000)
return 0
"""

# KEYS[1]: the key's streams. ARGV: limit, stream id, lease ms. Returns 1 (held) or 0 (all taken).
_OPEN_STREAM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""

# KEYS: the streams of keys with open streams here. ARGV[1]: lease ms; ARGV[2..]: each key's stream ids, joined.
_RENEW_STREAMS = """
local t = redis.call('TIME')
local expiry = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  for id in string.gmatch(ARGV[i + 1], '[^,]+') do
    redis.call('ZADD', key, 'XX', expiry, id)
  end
  redis.call('PEXPIRE', key, tonumber(ARGV[1]))
end
return 0
"""


class RedisLimits:
    def __init__(
        self, redis: Redis, prefix: str, runs_per_minute: int, max_streams: int, lease_seconds: float = 10.0
    ) -> None:
        self.redis = redis
        self.runs_per_minute = runs_per_minute
        self.max_streams = max_streams
        self._base = f"{{{prefix}:limits}}"
        self._lease_ms = int(lease_seconds * 1000)
        self._take_run = redis.register_script(_TAKE_RUN)
        self._open_stream = redis.register_script(_OPEN_STREAM)
        self._renew_streams = redis.register_script(_RENEW_STREAMS)
        self._open: dict[str, set[str]] = {}  # key -> stream ids held by this process
        self._renewer: asyncio.Task[None] | None = None

    async def admit_run(self, key_id: str) -> None:
        if not self.runs_per_minute:
            return
        wait_ms = int(await self._take_run(keys=[f"{self._base}:runs:{key_id}"], args=[self.runs_per_minute]))
        if wait_ms:
            raise too_many_runs(self.runs_per_minute, wait_ms / 1000)

    async def open_stream(self, key_id: str) -> StreamSlot:
        if not self.max_streams:
            return StreamSlot()
        key, stream_id = f"{self._base}:streams:{key_id}", uuid.uuid4().hex
        held = await self._open_stream(keys=[key], args=[self.max_streams, stream_id, self._lease_ms])
        if not int(held):
            raise too_many_streams(self.max_streams)
        self._open.setdefault(key, set()).add(stream_id)
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew(), name="stream-leases")

        async def release() -> None:
            ids = self._open.get(key, set())
            ids.discard(stream_id)
            if not ids:
                self._open.pop(key, None)
            await self.redis.zrem(key, stream_id)

        return StreamSlot(release)

    async def _renew(self) -> None:
        """Every third of a lease while this process holds streams; ends when it holds none."""
        while self._open:
            await asyncio.sleep(self._lease_ms / 3000)
            keys = list(self._open)
            with contextlib.suppress(RedisError):  # Redis down: the next round tries again
                await self._renew_streams(
                    keys=keys, args=[self._lease_ms, *(",".join(self._open.get(k, ())) or "-" for k in keys)]
                )

    async def close(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
