"""Redis implementation of `EventLog` (scale-out mode), on Redis Streams: any process serves any run.

Keys, for a prefix `p` and run `r`:

    p:events:{r}          STREAM  the log; entry `<n>-0` is event id `n` (fields event, data, kind)
    p:events:{r}:meta     HASH    base (the id before the log's first event), closed ("1" once closed)

Ids are explicit, so the SSE id is `str(n)` and `parse_event_id` applies unchanged. The next id is
the stream's last id plus one (or base plus one on an empty stream), chosen and written in one Lua
script so concurrent appenders never collide. `close` sets `closed` and appends a sentinel entry
(field `closed`) that wakes blocked followers, which swallow it and stop. Both keys expire `ttl`
after the last append or close, so the logs of crashed runs and idle threads do not pile up.
Both keys share the hash tag `{r}`, so a log lives in one Cluster slot.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis

from infra.persistence.events import Event, parse_event_id
from infra.persistence.redis_client import connect

_BLOCK_MS = 1000  # a follower re-checks the log this often while nothing arrives
_BATCH = 500  # entries read per XREAD

# KEYS: stream, meta. Sets `n` to the next id, or fails if the log is closed.
_NEXT_ID = """
local meta = redis.call('HMGET', KEYS[2], 'base', 'closed')
if meta[2] == '1' then return redis.error_reply('ERR event log is closed') end
local n = tonumber(meta[1] or '0')
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last > 0 then n = tonumber(string.match(last[1][1], '^(%d+)')) end
n = n + 1
local id = string.format('%d-0', n)
"""

# ARGV: event, data, kind, maxlen ("" for none), ttl seconds. Returns the new id.
_APPEND = (
    _NEXT_ID
    + """
if ARGV[4] ~= '' then
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], id, 'event', ARGV[1], 'data', ARGV[2], 'kind', ARGV[3])
else
  redis.call('XADD', KEYS[1], id, 'event', ARGV[1], 'data', ARGV[2], 'kind', ARGV[3])
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return string.format('%d', n)
"""
)

# ARGV: ttl seconds. Closing twice only renews the TTL.
_CLOSE = """
if redis.call('HGET', KEYS[2], 'closed') ~= '1' then
"""
_CLOSE += _NEXT_ID.replace("\n", "\n  ")
_CLOSE += """
  redis.call('XADD', KEYS[1], id, 'closed', '1')
  redis.call('HSET', KEYS[2], 'closed', '1')
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


class RedisEventLog:
    def __init__(
        self,
        redis: Redis | str,
        prefix: str = "sy",
        ttl_seconds: int = 3600,
        max_events: int | None = None,
    ) -> None:
        """`redis`: a client or a `redis://` URL. `max_events`: trim each log to about this many newest events."""
        self._owns = isinstance(redis, str)
        self.redis: Redis = connect(redis) if isinstance(redis, str) else redis
        self.prefix = prefix
        self._ttl = ttl_seconds
        self._max = max_events
        self._append = self.redis.register_script(_APPEND)
        self._close = self.redis.register_script(_CLOSE)

    async def aclose(self) -> None:
        """Close the connection pool if this log opened it from a URL."""
        if self._owns:
            await self.redis.aclose()

    def _keys(self, run_id: str) -> list[str]:
        stream = f"{self.prefix}:events:{{{run_id}}}"
        return [stream, f"{stream}:meta"]

    async def append(self, run_id: str, event: str, data: bytes, kind: str = "run") -> str:
        maxlen = "" if self._max is None else str(self._max)
        args: list[bytes | str | int] = [event, data, kind, maxlen, self._ttl]
        return _text(await self._append(keys=self._keys(run_id), args=args))

    async def close(self, run_id: str) -> None:
        await self._close(keys=self._keys(run_id), args=[self._ttl])

    async def has(self, run_id: str) -> bool:
        return bool(await self.redis.exists(*self._keys(run_id)))

    async def begin(self, run_id: str, first_id: int) -> None:
        stream, meta = self._keys(run_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(stream, meta)
            pipe.hset(meta, "base", str(first_id - 1))
            pipe.expire(meta, self._ttl)
            await pipe.execute()

    async def follow(self, run_id: str, after: str | None = None) -> AsyncIterator[Event]:
        stream, meta = self._keys(run_id)
        if not await self.has(run_id):
            return
        base = await self.redis.hget(meta, "base")
        # An id from before this log (an earlier attempt) replays it whole.
        seen = f"{max(parse_event_id(after), int(_text(base)) if base is not None else 0)}-0"
        closing = False
        while True:
            # Returns at once while there is backlog (the replay), then blocks for live entries.
            reply: Any = await self.redis.xread({stream: seen}, count=_BATCH, block=None if closing else _BLOCK_MS)
            if not reply:
                # Nothing new: the log may have expired, or been closed past our id (a client's id
                # beyond the sentinel); read once more without blocking before giving up on it.
                if closing or not await self.has(run_id):
                    return
                closing = await self.redis.hget(meta, "closed") is not None
                continue
            for entry_id, fields in reply[0][1]:
                seen = _text(entry_id)
                values = {_text(k): v for k, v in fields.items()}
                if "closed" in values:
                    return
                yield Event(seen.split("-")[0], _text(values["event"]), _bytes(values["data"]), _text(values["kind"]))
