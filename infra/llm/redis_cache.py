"""`RedisCacheTier`: the response cache's second tier, shared by every process on one Redis.

Keys, for a prefix `p`, a cache name `n` ("responses", "answers") and an entry key `k`:

    p:llm:cache:n:<sha256(k)>    STRING  JSON {"value": ..., "deps": {...}}, expiring with the entry (PX)

The key is hashed because an answers key is the customer's question: any length, any
characters (a `{` would otherwise pick a Cluster slot). Each entry is one key, so nothing
here needs a hash tag. Redis keeps the time to live, so processes need not share a clock.

Values are JSON, never pickle: a process must not run code because another one wrote
bytes to a shared store. `encode` and `decode` turn a value into JSON and back (the
identity for plain JSON such as the ladder's answers; `LlmResult` brings its own).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from infra import jsonwire
from infra.llm.cache import SharedEntry

if TYPE_CHECKING:  # the embedded mode never imports redis
    from redis.asyncio import Redis

V = TypeVar("V")


def _same(value: Any) -> Any:
    return value


class RedisCacheTier(Generic[V]):
    kind = "redis"  # the `tier` label of the cache's lookup metrics

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        name: str,
        encode: Callable[[V], Any] = _same,
        decode: Callable[[Any], V] = _same,
    ) -> None:
        self.redis = redis
        self.prefix = f"{prefix}:llm:cache:{name}:"
        self._encode = encode
        self._decode = decode

    def key(self, key: str) -> str:
        return self.prefix + hashlib.sha256(key.encode()).hexdigest()

    async def load(self, key: str) -> SharedEntry[V] | None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(self.key(key))
            pipe.pttl(self.key(key))
            raw, ttl_ms = await pipe.execute()
        if raw is None or ttl_ms <= 0:
            return None
        data = jsonwire.loads(raw)
        return SharedEntry(self._decode(data["value"]), data["deps"], ttl_ms / 1000)

    async def store(self, key: str, entry: SharedEntry[V]) -> None:
        ttl_ms = int(entry.ttl_s * 1000)
        if ttl_ms <= 0:  # already expired: Redis refuses a zero PX, and there is nothing to keep
            return
        data = jsonwire.dumps({"value": self._encode(entry.value), "deps": dict(entry.deps)})
        await self.redis.set(self.key(key), data, px=ttl_ms)

    async def delete(self, key: str) -> None:
        await self.redis.delete(self.key(key))
