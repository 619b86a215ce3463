"""The scale-out run queue on plain Redis: per-thread FIFO queues, run leases, takeover, cancel.

Any process may queue a run; any process with a free slot claims the next one. One run
per thread executes at a time, in arrival order, across every process. Keys, for a
prefix `p` (all share the hash tag `{p:q}`, so every script touches a single slot):

    {p:q}:tq:<t>      LIST   run ids queued on thread t, oldest first
    {p:q}:ready       ZSET   threads with a queued run and no run executing, by arrival (ms)
    {p:q}:leased      HASH   thread -> the run executing on it (the thread's lock)
    {p:q}:leases      ZSET   run -> lease expiry (ms, Redis clock)
    {p:q}:owner       HASH   run -> the worker holding its lease
    {p:q}:thread      HASH   run -> its thread, for leased runs
    {p:q}:claims      HASH   run -> times claimed (2 or more: a takeover, so resume it)
    {p:q}:cancel      HASH   run -> the cancel action asked for while it executes
    {p:q}:wake        LIST   wake-up tokens for idle workers (BLPOP), trimmed
    channel {p:q}:cancel     "<run>\\t<action>", so the owner stops the run at once

A worker renews its leases every few seconds. When a process dies, its leases expire;
any process's `reap` puts each expired run back at the head of its thread's queue and
its thread at the head of `ready`, and the next claim of that run is a takeover.
Every step is one Lua script, so no crash between two commands can lose a run, and the
Redis server's clock is the only clock, so hosts need not agree on the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio import Redis

CancelOutcome = Literal["dequeued", "signalled", "none"]

# Every script starts with the key names and the time; ARGV[1] is the key prefix `{p:q}`.
_HEAD = """
local p = ARGV[1]
local ready, leased, leases = p .. ':ready', p .. ':leased', p .. ':leases'
local owner, threadof, claims, cancel = p .. ':owner', p .. ':thread', p .. ':claims', p .. ':cancel'
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local function wake()
  redis.call('RPUSH', p .. ':wake', '1')
  redis.call('LTRIM', p .. ':wake', -64, -1)
end
-- A leased run back to the head of its thread's queue, its thread to the head of `ready`.
local function requeue(r)
  local t = redis.call('HGET', threadof, r)
  redis.call('ZREM', leases, r)
  redis.call('HDEL', owner, r)
  redis.call('HDEL', threadof, r)
  if t then
    if redis.call('HGET', leased, t) == r then redis.call('HDEL', leased, t) end
    redis.call('LPUSH', p .. ':tq:' .. t, r)
    redis.call('ZADD', ready, 0, t)
    wake()
  end
end
"""

# ARGV: prefix, thread, run, reject ("1": refuse when the thread has a run executing or queued).
_PUSH = (
    _HEAD
    + """
local t, r = ARGV[2], ARGV[3]
local busy = redis.call('HEXISTS', leased, t) == 1
if ARGV[4] == '1' and (busy or redis.call('LLEN', p .. ':tq:' .. t) > 0) then return 0 end
redis.call('RPUSH', p .. ':tq:' .. t, r)
if not busy then
  redis.call('ZADD', ready, 'NX', now, t)
  wake()
end
return 1
"""
)

# ARGV: prefix, worker, lease ms. Returns {run, thread, claims, cancel action or ''} or nil.
_CLAIM = (
    _HEAD
    + """
while true do
  local head = redis.call('ZRANGE', ready, 0, 0)
  if #head == 0 then return nil end
  local t = head[1]
  redis.call('ZREM', ready, t)
  if redis.call('HEXISTS', leased, t) == 0 then
    local r = redis.call('LPOP', p .. ':tq:' .. t)
    if r then
      redis.call('HSET', leased, t, r)
      redis.call('ZADD', leases, now + tonumber(ARGV[3]), r)
      redis.call('HSET', owner, r, ARGV[2])
      redis.call('HSET', threadof, r, t)
      local n = redis.call('HINCRBY', claims, r, 1)
      return {r, t, n, redis.call('HGET', cancel, r) or ''}
    end
  end
end
"""
)

# ARGV: prefix, worker, thread, run. The run is done: free its thread, schedule the next run.
_RELEASE = (
    _HEAD
    + """
local t, r = ARGV[3], ARGV[4]
if redis.call('HGET', owner, r) ~= ARGV[2] then return 0 end
if redis.call('HGET', leased, t) == r then redis.call('HDEL', leased, t) end
redis.call('ZREM', leases, r)
redis.call('HDEL', owner, r)
redis.call('HDEL', threadof, r)
redis.call('HDEL', claims, r)
redis.call('HDEL', cancel, r)
if redis.call('LLEN', p .. ':tq:' .. t) > 0 and redis.call('HEXISTS', leased, t) == 0 then
  redis.call('ZADD', ready, 'NX', now, t)
  wake()
end
return 1
"""
)

# ARGV: prefix, worker, lease ms, runs... Returns {lost runs}, {run, action, ...} of cancels asked for.
_RENEW = (
    _HEAD
    + """
local lost, cancels = {}, {}
for i = 4, #ARGV do
  local r = ARGV[i]
  if redis.call('HGET', owner, r) == ARGV[2] then
    redis.call('ZADD', leases, 'XX', now + tonumber(ARGV[3]), r)
    local action = redis.call('HGET', cancel, r)
    if action then
      table.insert(cancels, r)
      table.insert(cancels, action)
    end
  else
    table.insert(lost, r)
  end
end
return {lost, cancels}
"""
)

# ARGV: prefix, limit. Expired leases go back to the head of their thread's queue.
_REAP = (
    _HEAD
    + """
local expired = redis.call('ZRANGEBYSCORE', leases, '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
for _, r in ipairs(expired) do requeue(r) end
return expired
"""
)

# ARGV: prefix, worker, runs... This worker's leased runs go back to the queue (it is stopping).
_HAND_BACK = (
    _HEAD
    + """
local handed = {}
for i = 3, #ARGV do
  if redis.call('HGET', owner, ARGV[i]) == ARGV[2] then
    requeue(ARGV[i])
    table.insert(handed, ARGV[i])
  end
end
return handed
"""
)

# ARGV: prefix, thread, run, action.
_CANCEL = (
    _HEAD
    + """
local t, r = ARGV[2], ARGV[3]
if redis.call('LREM', p .. ':tq:' .. t, 0, r) > 0 then
  if redis.call('LLEN', p .. ':tq:' .. t) == 0 then redis.call('ZREM', ready, t) end
  redis.call('HDEL', claims, r)
  return 'dequeued'
end
if redis.call('HGET', leased, t) == r then
  redis.call('HSET', cancel, r, ARGV[4])
  redis.call('PUBLISH', p .. ':cancel', r .. '\\t' .. ARGV[4])
  return 'signalled'
end
return 'none'
"""
)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class Claim:
    run_id: str
    thread_id: str
    claims: int  # 1 for the first execution; more when the run is taken over from a dead process
    cancel: str | None  # a cancel action asked for before the claim


@dataclass(frozen=True)
class Renewal:
    lost: list[str]  # runs whose lease another worker holds now: stop them, do not record anything
    cancels: dict[str, str]  # run -> cancel action asked for while it executes


class RedisRunQueue:
    def __init__(self, redis: Redis, prefix: str, worker_id: str, lease_seconds: float = 10.0) -> None:
        self.redis = redis
        self.key = f"{{{prefix}:q}}"
        self.worker_id = worker_id
        self.lease_ms = int(lease_seconds * 1000)
        self.cancel_channel = f"{self.key}:cancel"
        self._push = redis.register_script(_PUSH)
        self._claim = redis.register_script(_CLAIM)
        self._release = redis.register_script(_RELEASE)
        self._renew = redis.register_script(_RENEW)
        self._reap = redis.register_script(_REAP)
        self._cancel = redis.register_script(_CANCEL)
        self._hand_back = redis.register_script(_HAND_BACK)

    async def push(self, thread_id: str, run_id: str, *, reject_if_busy: bool = False) -> bool:
        """Queue a run behind its thread's others. False (and nothing queued) when
        `reject_if_busy` and the thread has a run executing or queued."""
        args = [self.key, thread_id, run_id, "1" if reject_if_busy else "0"]
        return bool(await self._push(args=args))

    async def claim(self) -> Claim | None:
        """Lease the next run whose thread is free, oldest thread first."""
        reply = await self._claim(args=[self.key, self.worker_id, self.lease_ms])
        if reply is None:
            return None
        run_id, thread_id, claims, cancel = reply
        return Claim(_text(run_id), _text(thread_id), int(claims), _text(cancel) or None)

    async def wait_for_work(self, timeout_s: float) -> None:
        """Block until a run is queued somewhere (or the timeout passes)."""
        await self.redis.blpop([f"{self.key}:wake"], timeout=timeout_s)

    async def release(self, thread_id: str, run_id: str) -> bool:
        """The run is over: free the thread for its next run. False if the lease was not ours any more."""
        return bool(await self._release(args=[self.key, self.worker_id, thread_id, run_id]))

    async def renew(self, run_ids: list[str]) -> Renewal:
        if not run_ids:
            return Renewal([], {})
        lost, cancels = await self._renew(args=[self.key, self.worker_id, self.lease_ms, *run_ids])
        pairs = [_text(v) for v in cancels]
        return Renewal([_text(r) for r in lost], dict(zip(pairs[::2], pairs[1::2], strict=True)))

    async def reap(self, limit: int = 100) -> list[str]:
        """Requeue runs whose lease expired (their process died); the run ids."""
        return [_text(r) for r in await self._reap(args=[self.key, limit])]

    async def hand_back(self, run_ids: list[str]) -> list[str]:
        """Requeue this worker's runs at once (a clean shutdown), rather than after their leases expire."""
        if not run_ids:
            return []
        return [_text(r) for r in await self._hand_back(args=[self.key, self.worker_id, *run_ids])]

    async def cancel(self, thread_id: str, run_id: str, action: str) -> CancelOutcome:
        """`dequeued`: it never started (the caller records the outcome); `signalled`: its owner
        stops it; `none`: it is neither queued nor executing."""
        return _text(await self._cancel(args=[self.key, thread_id, run_id, action]))  # type: ignore[return-value]

    async def active(self, thread_id: str) -> list[str]:
        """The thread's executing run, then its queued ones, oldest first."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(f"{self.key}:leased", thread_id)
            pipe.lrange(f"{self.key}:tq:{thread_id}", 0, -1)
            executing, queued = await pipe.execute()
        runs = [] if executing is None else [_text(executing)]
        return runs + [_text(r) for r in queued]
