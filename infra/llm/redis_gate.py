"""`RedisGate`: the LLM gate with one budget for every process on a Redis (scale-out mode).

What is shared, for a prefix `p` (every key carries the hash tag `{p:llm}`, so the scripts
touch one Cluster slot):

    {p:llm}:rpm       HASH  level, ts    the requests-per-minute bucket
    {p:llm}:tpm       HASH  level, ts    the tokens-per-minute bucket
    {p:llm}:holders   ZSET  holder id -> lease expiry    the concurrency slots in use

The buckets behave like `TokenBucket` (start full, may go negative) and read the Redis
server's clock (`TIME`), so hosts need not agree on one. A bucket key expires when the
bucket would be full again, which reads the same as a missing key. Every process passes
its own limits to the scripts, so all of them must be configured alike.

A concurrency slot is a lease: its holder renews it every third of `lease_s` while the
call runs and removes it when done; the acquire script purges lapsed ones, so the slots of
a process that died (or of a cancel that landed while the script admitted) free up within
`lease_s`.

What stays in each process is the queue (`Gate`: priority, FIFO within one, deadlines):
only its head asks Redis, and sleeps as long as the script says the buckets need to
refill, or polls every `poll_s` while other processes hold every slot (nothing tells this
process when one frees elsewhere; a release here wakes the head at once). Across processes
there is no queue: each one's head competes for the budget.

`Ticket.settle` is synchronous, so its correction is owed to the TPM bucket and sent with
this process's next script call (the release that follows it at the latest), atomically
and at most once.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import TYPE_CHECKING

from infra.llm.gate import Clock, Gate, Sleep

if TYPE_CHECKING:  # the embedded mode never imports redis
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

log = logging.getLogger("switchyard.llm")

# KEYS: rpm, tpm, holders. ARGV[1..3]: rpm and tpm per minute (0: no limit), tokens owed back
# to the TPM bucket (negative: to be charged). Every script starts here.
_PRELUDE = """
local rpm, tpm, owed = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function level(key, per_minute)
  local state = redis.call('HMGET', key, 'level', 'ts')
  if not state[1] then return per_minute end
  return math.min(per_minute, tonumber(state[1]) + (now - tonumber(state[2])) * per_minute / 60000)
end

local function save(key, per_minute, new_level)
  redis.call('HSET', key, 'level', new_level, 'ts', now)
  redis.call('PEXPIRE', key, math.ceil((per_minute - new_level) * 60000 / per_minute) + 1)
end

if tpm > 0 and owed ~= 0 then save(KEYS[2], tpm, math.min(tpm, level(KEYS[2], tpm) + owed)) end
"""

# ARGV[4..7]: holder, tokens, max concurrency, lease ms.
# Returns 0 once admitted, else the ms the buckets need to refill, or -1 while every slot is held.
_ACQUIRE = (
    _PRELUDE
    + """
local holder, tokens, max_concurrency, lease = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if redis.call('ZCARD', KEYS[3]) >= max_concurrency then return -1 end
local wait, rpm_level, tpm_level = 0, 0, 0
if rpm > 0 then
  rpm_level = level(KEYS[1], rpm)
  wait = math.max(wait, (math.min(1, rpm) - rpm_level) * 60000 / rpm)
end
if tpm > 0 then
  tpm_level = level(KEYS[2], tpm)
  wait = math.max(wait, (math.min(tokens, tpm) - tpm_level) * 60000 / tpm)
end
-- Under a millisecond is rounding, not worth another round trip.
if wait >= 1 then return math.ceil(wait) end
if rpm > 0 then save(KEYS[1], rpm, rpm_level - 1) end
if tpm > 0 then save(KEYS[2], tpm, tpm_level - tokens) end
redis.call('ZADD', KEYS[3], now + lease, holder)
return 0
"""
)

# ARGV[4..5]: holder, lease ms. Renews only a lease that still exists: a lapsed one was given away.
# Returns 1 if it did.
_RENEW = _PRELUDE + "return redis.call('ZADD', KEYS[3], 'XX', 'CH', now + tonumber(ARGV[5]), ARGV[4])\n"

# ARGV[4]: holder. Returns 1 if the lease was still there.
_RELEASE = _PRELUDE + "return redis.call('ZREM', KEYS[3], ARGV[4])\n"


class RedisBudget:
    """A `Budget` of concurrency, RPM and TPM (None: off) shared by every process on one Redis."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        max_concurrency: int,
        rpm: int | None,
        tpm: int | None,
        lease_s: float = 10.0,
        poll_s: float = 0.05,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        tag = f"{{{prefix}:llm}}"
        self._keys = [f"{tag}:rpm", f"{tag}:tpm", f"{tag}:holders"]
        self._acquire: AsyncScript = redis.register_script(_ACQUIRE)
        self._renew: AsyncScript = redis.register_script(_RENEW)
        self._release: AsyncScript = redis.register_script(_RELEASE)
        self._max_concurrency = max_concurrency
        self._rpm, self._tpm = rpm or 0, tpm or 0
        self._lease_ms = round(lease_s * 1000)
        self._poll_s = poll_s
        self._sleep = sleep
        self._process = uuid.uuid4().hex  # holder ids are unique across processes
        self._renewals: dict[int, asyncio.Task[None]] = {}
        self._owed = 0  # tokens settled but not yet given back to the shared TPM bucket

    async def take(self, holder: int, tokens: int) -> float | None:
        args = (self._id(holder), tokens, self._max_concurrency, self._lease_ms)
        wait_ms = await self._run(self._acquire, *args)
        if wait_ms < 0:
            return self._poll_s
        if wait_ms > 0:
            return wait_ms / 1000
        self._renewals[holder] = asyncio.create_task(self._keep(holder))
        return 0.0

    async def release(self, holder: int) -> None:
        self._renewals.pop(holder).cancel()
        await self._run(self._release, self._id(holder))

    def give_back(self, amount: int) -> None:
        if self._tpm:
            self._owed += amount

    def _id(self, holder: int) -> str:
        return f"{self._process}:{holder}"

    async def _keep(self, holder: int) -> None:
        """Renew the lease while the call runs. A failed renewal is retried a period later; if
        none succeeds the lease lapses and other processes count the slot free (an extra call
        admitted, never a slot lost)."""
        while True:
            await self._sleep(self._lease_ms / 3000)
            try:
                await self._run(self._renew, self._id(holder), self._lease_ms)
            except Exception:  # the lease is the fallback (above): say so and carry on
                log.warning("LLM gate: could not renew the lease of %s", self._id(holder), exc_info=True)

    async def _run(self, script: AsyncScript, *args: str | int) -> int:
        # Taken off before the call: a call that fails may or may not have applied it, and a
        # correction lost once is better than one applied twice.
        owed, self._owed = self._owed, 0
        return int(await script(keys=self._keys, args=[self._rpm, self._tpm, owed, *args]))


class RedisGate(Gate):
    """This process's queue in front of the shared `RedisBudget`."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        max_concurrency: int,
        rpm: int | None,
        tpm: int | None,
        lease_s: float = 10.0,
        poll_s: float = 0.05,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        budget = RedisBudget(redis, prefix, max_concurrency, rpm, tpm, lease_s, poll_s, sleep)
        super().__init__(budget, clock, sleep)
