"""A LangGraph checkpointer on plain Redis (≥ 6, no modules), safe for Redis Cluster.

Every key of a thread carries the hash tag `{<thread_id>}`, so one thread lives in one
slot. Per thread (`t`) and namespace (`ns`):

    <prefix>:{t}:keys             SET of every other key of the thread (delete, copy, TTL)
    <prefix>:{t}:ns               SET of the thread's namespaces
    <prefix>:{t}:idx:<ns>         ZSET of checkpoint ids, all score 0, so lex order is id order
    <prefix>:{t}:cp:<ns>:<id>     HASH checkpoint, metadata (serde-packed), parent id
    <prefix>:{t}:w:<ns>:<id>      HASH of pending writes, field `task_id:idx`

A run costs one round trip per checkpoint plus one to start: `get_tuple` and `put` are each
one EVALSHA of a small Lua script (atomic like MULTI/EXEC, at a fraction of the commands
redis-py packs and parses in Python), and a task's `put_writes` is held for up to `_HOLD`
so that it rides in its thread's next `put` (LangGraph saves the superstep's checkpoint
right after its tasks' writes); if no put comes in time it is sent alone, so writes with
no put after them (an interrupted run's last, `update_state`'s) return up to `_HOLD` later.
Either way a call returns only once its data is in Redis. Keys a script derives (a checkpoint's hashes
once `get_tuple` has found the newest id, the members of `keys` for TTL) are not in KEYS;
they share the thread's hash tag, so Redis Cluster runs them in the declared keys' slot
(a proxy that insists on every key being in KEYS would refuse them).

Metadata filters in `alist` are applied in Python after loading (plain Redis has no
secondary index on metadata), so a filtered listing reads the candidate checkpoints;
listing with no config and `delete_for_runs` SCAN every thread of the prefix, which is
an admin path, not a per-request one. With `ttl_seconds`, each `put` refreshes the
expiry of every key of the thread, so a thread expires that long after its last
checkpoint. The sync API runs the async code on a private loop thread with its own
client, because a `redis.asyncio` connection belongs to the loop that opened it.
"""

from __future__ import annotations

import asyncio
import random
import re
import threading
from collections.abc import AsyncIterator, Coroutine, Iterable, Iterator, Sequence
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    PendingWrite,
    SerializerProtocol,
    get_checkpoint_id,
    get_checkpoint_metadata,
    writes_sort_key,
)
from redis.asyncio import Redis

from infra.persistence.redis_client import connect

Op = tuple[list[str], list[str | bytes | int]]  # the keys and args of one operation of `_WRITE`
Ref = tuple[str, str, str]  # thread id, namespace, checkpoint id
Refs = list[Ref]  # aliased here: inside the class `list` names the method
Loaded = list[CheckpointTuple | None]
Tuples = list[CheckpointTuple]
_BATCH = 100  # checkpoints loaded per round trip while listing
_HOLD = 0.002  # seconds a task's writes wait to go with its thread's next checkpoint

# Writes: ARGV is a list of operations, each its name, its number of keys and of args, then its
# args; its keys are the next ones in KEYS. One call may carry several operations of a thread.
_WRITE = """
local k, a = 0, 0
while a < #ARGV do
  local op, nkeys, nargs = ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local K, b = {unpack(KEYS, k + 1, k + nkeys)}, a + 3
  if op == 'put' then
    -- KEYS: cp, idx, ns, keys. ARGV: checkpoint id, ns, checkpoint, metadata, parent id, ttl or ''.
    redis.call('HSET', K[1], 'checkpoint', ARGV[b + 3], 'metadata', ARGV[b + 4], 'parent', ARGV[b + 5])
    redis.call('ZADD', K[2], 0, ARGV[b + 1])
    redis.call('SADD', K[3], ARGV[b + 2])
    redis.call('SADD', K[4], K[1], K[2])
    local ttl = ARGV[b + 6]
    if ttl ~= '' then
      for _, key in ipairs(redis.call('SMEMBERS', K[4])) do redis.call('EXPIRE', key, ttl) end
      redis.call('EXPIRE', K[3], ttl)
      redis.call('EXPIRE', K[4], ttl)
    end
  else
    -- 'writes' KEYS: w, keys. ARGV: '1' to replace (else keep what is there), ttl or '', then field, value pairs.
    local set, ttl = ARGV[b + 1] == '1' and 'HSET' or 'HSETNX', ARGV[b + 2]
    for i = b + 3, b + nargs, 2 do redis.call(set, K[1], ARGV[i], ARGV[i + 1]) end
    redis.call('SADD', K[2], K[1])
    if ttl ~= '' then
      redis.call('EXPIRE', K[1], ttl)
      redis.call('EXPIRE', K[2], ttl)
    end
  end
  k, a = k + nkeys, b + nargs
end
"""
# KEYS: idx. ARGV: checkpoint id ("" for the newest), cp key and w key without the id.
# Returns nil if there is no checkpoint, else {id, HGETALL cp, HGETALL w}.
_GET = """
local id = ARGV[1]
if id == '' then
  id = redis.call('ZREVRANGEBYLEX', KEYS[1], '+', '-', 'LIMIT', 0, 1)[1]
  if not id then return nil end
end
return {id, redis.call('HGETALL', ARGV[2] .. id), redis.call('HGETALL', ARGV[3] .. id)}
"""


class RedisSaver(BaseCheckpointSaver[str]):
    def __init__(
        self,
        url: str,
        *,
        prefix: str = "sy:cp",
        ttl_seconds: int | None = None,
        serde: SerializerProtocol | None = None,
    ) -> None:
        super().__init__(serde=serde)
        self.url, self.prefix, self.ttl_seconds = url, prefix, ttl_seconds
        self.redis: Redis = connect(url, max_connections=128)
        # Bound to `self.redis` only for the SHA; each call names the client it runs on.
        self._write_script = self.redis.register_script(_WRITE)
        self._get_script = self.redis.register_script(_GET)
        # Per (client, thread): writes waiting to go with the thread's next put, each with its caller's future.
        self._held: dict[tuple[int, str], list[tuple[Op, asyncio.Future[None]]]] = {}
        self._flushes: set[asyncio.Task[None]] = set()
        self._sync_redis: Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    # -- keys and encoding -----------------------------------------------------------------
    def _key(self, thread_id: str, *parts: str) -> str:
        return ":".join((f"{self.prefix}:{{{thread_id}}}", *parts))

    def _pack(self, value: Any) -> bytes:
        type_, data = self.serde.dumps_typed(value)
        return type_.encode() + b"\n" + data  # serde type names never contain a newline

    def _unpack(self, packed: bytes) -> Any:
        type_, _, data = packed.partition(b"\n")
        return self.serde.loads_typed((type_.decode(), data))

    # -- async API -------------------------------------------------------------------------
    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self._get_tuple(self.redis, config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        async for item in self._list(self.redis, config, filter, before, limit):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await self._put(self.redis, config, checkpoint, metadata)

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        await self._put_writes(self.redis, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await self._delete_thread(self.redis, str(thread_id))

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await self._copy_thread(self.redis, str(source_thread_id), str(target_thread_id))

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await self._delete_for_runs(self.redis, {str(run_id) for run_id in run_ids})

    async def aclose(self) -> None:
        await self._close_client(self.redis)
        self.close()

    # -- sync API: the same code on a private loop thread ----------------------------------
    def _run(self, make: Any) -> Any:
        """Run `make(client)` (a coroutine factory) on the private loop with its own client."""
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                threading.Thread(target=self._loop.run_forever, name="redis-saver", daemon=True).start()
                self._sync_redis = connect(self.url, max_connections=128)
        client = cast(Redis, self._sync_redis)
        coro: Coroutine[Any, Any, Any] = make(client)
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return cast(CheckpointTuple | None, self._run(lambda r: self._get_tuple(r, config)))

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        async def collect(r: Redis) -> Tuples:
            return [item async for item in self._list(r, config, filter, before, limit)]

        yield from self._run(collect)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return cast(RunnableConfig, self._run(lambda r: self._put(r, config, checkpoint, metadata)))

    def put_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        self._run(lambda r: self._put_writes(r, config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        self._run(lambda r: self._delete_thread(r, str(thread_id)))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self._run(lambda r: self._copy_thread(r, str(source_thread_id), str(target_thread_id)))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        self._run(lambda r: self._delete_for_runs(r, {str(run_id) for run_id in run_ids}))

    def close(self) -> None:
        """Stop the private loop thread, if the sync API started it."""
        with self._lock:
            loop, client, self._loop, self._sync_redis = self._loop, self._sync_redis, None, None
        if loop is not None and client is not None:
            asyncio.run_coroutine_threadsafe(self._close_client(client), loop).result()
            loop.call_soon_threadsafe(loop.stop)

    def get_next_version(self, current: str | None, channel: None) -> str:
        # The stock savers' scheme: a zero-padded counter, then a random tiebreak.
        current_v = 0 if current is None else current if isinstance(current, int) else int(current.split(".")[0])
        return f"{current_v + 1:032}.{random.random():016}"

    # -- implementation --------------------------------------------------------------------
    async def _get_tuple(self, r: Redis, config: RunnableConfig) -> CheckpointTuple | None:
        thread_id = str(config["configurable"]["thread_id"])
        ns = config["configurable"].get("checkpoint_ns", "")
        keys, args = [self._key(thread_id, "idx", ns)], [get_checkpoint_id(config) or ""]
        args += [self._key(thread_id, "cp", ns, ""), self._key(thread_id, "w", ns, "")]
        found = await self._get_script(keys=keys, args=args, client=r)
        if found is None:
            return None
        checkpoint_id, cp, w = found
        return self._tuple((thread_id, ns, _text(checkpoint_id)), _pairs(cp), w[1::2])

    async def _load(self, r: Redis, refs: Sequence[Ref]) -> Loaded:
        """Read checkpoints with their writes in one round trip; `None` where one is gone."""
        async with r.pipeline(transaction=False) as pipe:
            for thread_id, ns, checkpoint_id in refs:
                pipe.hgetall(self._key(thread_id, "cp", ns, checkpoint_id))
                pipe.hgetall(self._key(thread_id, "w", ns, checkpoint_id))
            replies = await pipe.execute()
        return [self._tuple(ref, cp, w.values()) for ref, cp, w in zip(refs, replies[::2], replies[1::2], strict=True)]

    def _tuple(self, ref: Ref, cp: dict[bytes, bytes], w: Iterable[bytes]) -> CheckpointTuple | None:
        """The tuple from a checkpoint's hash and the values of its writes' hash."""
        if not cp:
            return None
        thread_id, ns, checkpoint_id = ref
        parent = cp[b"parent"].decode()
        writes = sorted((self._unpack(packed) for packed in w), key=lambda x: writes_sort_key(x[1], x[0], x[2]))
        pending: list[PendingWrite] = [(task_id, channel, value) for task_id, _, _, channel, value in writes]
        return CheckpointTuple(
            {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": checkpoint_id}},
            self._unpack(cp[b"checkpoint"]),
            self._unpack(cp[b"metadata"]),
            {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": parent}}
            if parent
            else None,
            pending,
        )

    async def _list(
        self,
        r: Redis,
        config: RunnableConfig | None,
        filter: dict[str, Any] | None,
        before: RunnableConfig | None,
        limit: int | None,
    ) -> AsyncIterator[CheckpointTuple]:
        refs = await self._candidates(r, config, get_checkpoint_id(before) if before else None)
        refs.sort(key=lambda ref: ref[2], reverse=True)  # newest first across namespaces and threads
        remaining = limit
        for start in range(0, len(refs), _BATCH):
            for item in await self._load(r, refs[start : start + _BATCH]):
                if item is None or any(item.metadata.get(k) != v for k, v in (filter or {}).items()):
                    continue
                yield item
                if remaining is not None:
                    remaining -= 1
                    if remaining <= 0:
                        return

    async def _candidates(self, r: Redis, config: RunnableConfig | None, before_id: str | None) -> Refs:
        """The (thread, namespace, checkpoint id) triples a listing may return."""
        if config is None:
            threads = [thread_id async for thread_id in self._threads(r)]
            nss: list[str | None] = [None] * len(threads)
        else:
            threads, nss = [str(config["configurable"]["thread_id"])], [config["configurable"].get("checkpoint_ns")]
            if checkpoint_id := get_checkpoint_id(config):
                if before_id is not None and checkpoint_id >= before_id:
                    return []
                ns = config["configurable"].get("checkpoint_ns", "")
                return [(threads[0], ns, checkpoint_id)]
        pairs: list[tuple[str, str]] = []
        for thread_id, ns in zip(threads, nss, strict=True):
            names = [ns] if ns is not None else [_text(n) for n in await r.smembers(self._key(thread_id, "ns"))]
            pairs.extend((thread_id, name) for name in names)
        high = f"({before_id}" if before_id else "+"
        async with r.pipeline(transaction=False) as pipe:
            for thread_id, ns in pairs:
                pipe.zrevrangebylex(self._key(thread_id, "idx", ns), high, "-")
            replies = await pipe.execute()
        return [(t, ns, _text(cid)) for (t, ns), ids in zip(pairs, replies, strict=True) for cid in ids]

    async def _threads(self, r: Redis) -> AsyncIterator[str]:
        head, tail = f"{self.prefix}:{{", "}:ns"
        async for key in r.scan_iter(match=re.sub(r"([*?\[\]\\])", r"\\\1", head) + "*" + tail, count=1000):
            yield _text(key)[len(head) : -len(tail)]

    async def _put(
        self, r: Redis, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata
    ) -> RunnableConfig:
        thread_id = str(config["configurable"]["thread_id"])
        ns = config["configurable"].get("checkpoint_ns", "")
        keys = [self._key(thread_id, "cp", ns, checkpoint["id"]), self._key(thread_id, "idx", ns)]
        keys += [self._key(thread_id, "ns"), self._key(thread_id, "keys")]
        args = [checkpoint["id"], ns, self._pack(checkpoint), self._pack(get_checkpoint_metadata(config, metadata))]
        args += [config["configurable"].get("checkpoint_id") or "", self._ttl()]
        await self._send(r, thread_id, (keys, ["put", len(keys), len(args), *args]))
        return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": checkpoint["id"]}}

    def _ttl(self) -> str:
        return "" if self.ttl_seconds is None else str(self.ttl_seconds)

    async def _expire(self, r: Redis, thread_id: str, keys: Sequence[str]) -> None:
        async with r.pipeline(transaction=False) as pipe:
            for key in (*keys, self._key(thread_id, "keys"), self._key(thread_id, "ns")):
                pipe.expire(key, cast(int, self.ttl_seconds))
            await pipe.execute()

    async def _put_writes(
        self, r: Redis, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str
    ) -> None:
        if not writes:
            return
        thread_id = str(config["configurable"]["thread_id"])
        ns, checkpoint_id = config["configurable"].get("checkpoint_ns", ""), config["configurable"]["checkpoint_id"]
        # As the stock SQL savers: a batch of special writes (errors, interrupts...) replaces, others keep.
        replace = all(channel in WRITES_IDX_MAP for channel, _ in writes)
        args: list[str | bytes] = ["1" if replace else "0", self._ttl()]
        for n, (channel, value) in enumerate(writes):
            idx = WRITES_IDX_MAP.get(channel, n)
            args += [f"{task_id}:{idx}", self._pack((task_id, task_path, idx, channel, value))]
        keys = [self._key(thread_id, "w", ns, checkpoint_id), self._key(thread_id, "keys")]
        # Held until the thread's next put (usually within a superstep) so both go in one round trip;
        # sent alone after `_HOLD` if none comes. Either way this returns once they are in Redis.
        loop, lane = asyncio.get_running_loop(), (id(r), thread_id)
        done: asyncio.Future[None] = loop.create_future()
        held = self._held.setdefault(lane, [])
        held.append(((keys, ["writes", len(keys), len(args), *args]), done))
        if len(held) == 1:
            loop.call_later(_HOLD, self._flush, r, thread_id)
        await done

    def _flush(self, r: Redis, thread_id: str) -> None:
        """Send a thread's held writes on their own, if no put has taken them."""
        if (id(r), thread_id) not in self._held:
            return
        task = asyncio.get_running_loop().create_task(self._send(r, thread_id, None))
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _close_client(self, r: Redis) -> None:
        """Send the client's held writes (their writers are waiting), then close it."""
        flushes = [task for task in self._flushes if task.get_loop() is asyncio.get_running_loop()]
        await asyncio.gather(*flushes, *(self._send(r, t, None) for c, t in list(self._held) if c == id(r)))
        await r.aclose()

    async def _send(self, r: Redis, thread_id: str, op: Op | None) -> None:
        """Run `op` with the thread's held writes in one call, then resolve the writers' futures.

        A failure reaches every writer; the caller of `op` gets it raised."""
        held = self._held.pop((id(r), thread_id), [])
        ops = [o for o, _ in held] + ([op] if op else [])
        if not ops:
            return
        try:
            await self._write_script(
                keys=[k for keys, _ in ops for k in keys], args=[arg for _, args in ops for arg in args], client=r
            )
        except Exception as e:
            for _, done in held:
                if not done.done():
                    done.set_exception(e)
            if op is not None:
                raise
        except BaseException:  # cancelled: whether the call ran is unknown
            for _, done in held:
                done.cancel()
            raise
        else:
            for _, done in held:
                if not done.done():
                    done.set_result(None)

    async def _delete_thread(self, r: Redis, thread_id: str) -> None:
        keys = [_text(k) for k in await r.smembers(self._key(thread_id, "keys"))]
        await r.delete(*keys, self._key(thread_id, "keys"), self._key(thread_id, "ns"))

    async def _copy_thread(self, r: Redis, source: str, target: str) -> None:
        refs = await self._candidates(r, {"configurable": {"thread_id": source}}, None)
        async with r.pipeline(transaction=False) as pipe:
            for _, ns, checkpoint_id in refs:
                pipe.hgetall(self._key(source, "cp", ns, checkpoint_id))
                pipe.hgetall(self._key(source, "w", ns, checkpoint_id))
            replies = await pipe.execute()
        keys: list[str] = []
        async with r.pipeline(transaction=True) as pipe:
            for (_, ns, checkpoint_id), cp, w in zip(refs, replies[::2], replies[1::2], strict=True):
                cp_key, w_key = self._key(target, "cp", ns, checkpoint_id), self._key(target, "w", ns, checkpoint_id)
                idx_key = self._key(target, "idx", ns)
                pipe.hset(cp_key, mapping=cp)
                pipe.zadd(idx_key, {checkpoint_id: 0})
                pipe.sadd(self._key(target, "ns"), ns)
                keys += [cp_key, idx_key]
                if w:
                    pipe.hset(w_key, mapping=w)
                    keys.append(w_key)
            if keys:
                pipe.sadd(self._key(target, "keys"), *keys)
            await pipe.execute()
        if keys and self.ttl_seconds is not None:
            await self._expire(r, target, keys)

    async def _delete_for_runs(self, r: Redis, run_ids: set[str]) -> None:
        async for thread_id in self._threads(r):
            refs = await self._candidates(r, {"configurable": {"thread_id": thread_id}}, None)
            loaded = await self._load(r, refs)
            doomed: Refs = [
                ref for ref, item in zip(refs, loaded, strict=True) if item and item.metadata.get("run_id") in run_ids
            ]
            if not doomed:
                continue
            async with r.pipeline(transaction=True) as pipe:
                for _, ns, checkpoint_id in doomed:
                    cp_key, w_key = (
                        self._key(thread_id, "cp", ns, checkpoint_id),
                        self._key(thread_id, "w", ns, checkpoint_id),
                    )
                    pipe.delete(cp_key, w_key)
                    pipe.zrem(self._key(thread_id, "idx", ns), checkpoint_id)
                    pipe.srem(self._key(thread_id, "keys"), cp_key, w_key)
                await pipe.execute()


def _pairs(flat: Sequence[bytes]) -> dict[bytes, bytes]:
    """A hash from the flat field, value list of HGETALL inside a script."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
