"""A response cache for LLM calls and answers: LRU, TTL, and dependency versions.

Every entry records the versions of the data it was computed from (e.g.
`{"order:10002": "<updated_at>"}`); a reader gets a hit only if it presents the same
versions, so a cached answer can never act on old data. A mismatch is a miss and
evicts the entry.

Nothing side-effecting is ever cached (a stale cache once applied a discount twice):
`put` takes a required `cacheable` flag, and the caller must pass `cacheable=False`
for anything whose result may trigger or describe an action with side effects, e.g.
an AI message carrying tool calls to a tool that changes data. Pure reads and phrasing
are `cacheable=True`.

A second tier (`CacheTier`, e.g. `RedisCacheTier`) may sit behind the in-memory one, so
processes share entries. That makes the cache's API async (`aget`, `aput`, `apeek`,
`ainvalidate`): a shared tier answers over the network, and the event loop must not
block on it. The new names are deliberate, so a caller left on the old synchronous API
fails loudly instead of testing a coroutine for truth. Without a second tier nothing
awaits, and the in-memory behaviour and stats are what they were.

With a second tier:
- a miss in memory, or an entry whose versions differ, asks the shared tier (another
  process may have stored the entry, or a newer one); what it has is promoted into memory;
- versions are checked on every read, whichever tier the entry came from;
- a stale entry is dropped from memory only: the shared copy may be newer than the
  versions this reader presents, and the next `aput` replaces it anyway;
- the shared tier keeps each entry for a time to live, not until a time of a clock, so
  processes need not agree on one.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from langchain_core.messages import BaseMessage
from pydantic import BaseModel

from infra import metrics

V = TypeVar("V")
KEY_VERSION = "v1"  # bump when the key's recipe changes, so old shared entries are ignored

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool", "function": "function"}


def _canonical(value: Any) -> Any:
    """A JSON-able form with one spelling per value; unknown objects are refused, because a
    repr (with addresses or defaults) would make keys unstable or collide."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, BaseModel):
        return _canonical(value.model_dump(mode="json"))
    if isinstance(value, type) and issubclass(value, BaseModel):
        return _canonical(value.model_json_schema())
    raise TypeError(f"cannot build a cache key from a {type(value).__name__}")


def _tool_calls(raw: Any) -> list[dict[str, Any]]:
    """Name and arguments of each call. Call ids are random per generation, so they stay out."""
    calls = []
    for call in raw or []:
        function = call.get("function")
        if isinstance(function, Mapping):  # OpenAI wire form: arguments are a JSON string
            arguments = function.get("arguments")
            parsed = _json_or_text(arguments) if isinstance(arguments, str) else arguments
            calls.append({"name": function.get("name"), "args": parsed})
        else:  # LangChain form
            calls.append({"name": call.get("name"), "args": call.get("args")})
    return calls


def _json_or_text(text: str) -> Any:
    """Parsed JSON, so `{"a":1}` and `{"a": 1}` agree; text that is not JSON identifies itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _message(message: BaseMessage | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(message, BaseMessage):
        role = _ROLES.get(message.type, message.type)
        return {
            "role": role,
            "content": message.content,
            "tool_calls": _tool_calls(getattr(message, "tool_calls", None)),
        }
    return {
        "role": message.get("role"),
        "content": message.get("content"),
        "tool_calls": _tool_calls(message.get("tool_calls")),
    }


def cache_key(
    model: str, messages: Sequence[BaseMessage | Mapping[str, Any]], params: Mapping[str, Any] | None = None
) -> str:
    """A stable hash of the model, each message's role, content and tool calls, and the call's
    parameters (tools, schema, temperature...). Dict key order never matters; list order does.
    LangChain messages and OpenAI-style dicts of the same conversation give the same key."""
    payload = {
        "model": model,
        "messages": [_message(m) for m in messages],
        "params": _canonical(params or {}),
    }
    text = json.dumps(_canonical(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"llm:{KEY_VERSION}:{hashlib.sha256(text.encode()).hexdigest()}"


@dataclass(frozen=True)
class CacheEntry(Generic[V]):
    value: V
    deps: Mapping[str, str]
    expires_at: float  # a time of the cache's clock


@dataclass(frozen=True)
class SharedEntry(Generic[V]):
    """An entry as a second tier holds it: with the time it has left to live, not an expiry time."""

    value: V
    deps: Mapping[str, str]
    ttl_s: float


@dataclass(frozen=True)
class CacheStats:
    hits: int
    misses: int  # every miss, including the stale and expired ones below
    stale: int  # dropped because a dependency had moved on
    expired: int
    evicted: int  # least recently used, to stay within max_entries
    refused: int  # puts of side-effecting results (cacheable=False)
    size: int  # entries in memory


class CacheTier(Protocol[V]):
    """A second tier behind the in-memory one, shared by processes. It forgets an entry once
    its `ttl_s` has passed, and `load` returns the time the entry has left."""

    async def load(self, key: str) -> SharedEntry[V] | None: ...

    async def store(self, key: str, entry: SharedEntry[V]) -> None: ...

    async def delete(self, key: str) -> None: ...


class ResponseCache(Generic[V]):
    def __init__(
        self,
        max_entries: int,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
        second_tier: CacheTier[V] | None = None,
        name: str = "cache",
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.name = name  # the `cache` label of its lookup metrics
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._clock = clock
        self._tier = second_tier
        self._entries: OrderedDict[str, CacheEntry[V]] = OrderedDict()
        self._hits = self._misses = self._stale = self._expired = self._evicted = self._refused = 0

    async def aget(self, key: str, deps: Mapping[str, str]) -> V | None:
        """The cached value if it is fresh and was computed from exactly these dependency versions."""
        entry = self._memory_entry(key)
        found = entry is not None and dict(entry.deps) == dict(deps)
        self._lookup("memory", found)
        if self._tier is not None and not found:
            shared = await self._load_shared(self._tier, key)
            self._lookup(getattr(self._tier, "kind", "shared"), shared is not None and dict(shared.deps) == dict(deps))
            entry = shared or entry
        if entry is None:
            self._misses += 1
            return None
        if dict(entry.deps) != dict(deps):
            self._stale += 1
            self._misses += 1
            self._entries.pop(key, None)
            return None
        self._hits += 1
        self._entries.move_to_end(key)
        return entry.value

    async def apeek(self, key: str) -> V | None:
        """The value without checking dependencies and without counting or reordering: only to
        learn which dependencies to look up before the real `aget`. Never answer from it."""
        entry = self._memory_entry(key, count=False)
        if entry is None and self._tier is not None:
            entry = await self._load_shared(self._tier, key)
        return entry.value if entry is not None else None

    async def aput(
        self, key: str, value: V, deps: Mapping[str, str], *, cacheable: bool, ttl_s: float | None = None
    ) -> bool:
        """Store `value`, computed from `deps`. Returns False (storing nothing) unless `cacheable`."""
        if not cacheable:
            self._refused += 1
            return False
        ttl_s = self.ttl_s if ttl_s is None else ttl_s
        self._remember(key, CacheEntry(value, dict(deps), self._clock() + ttl_s))
        if self._tier is not None:
            await self._tier.store(key, SharedEntry(value, dict(deps), ttl_s))
        return True

    async def ainvalidate(self, key: str) -> None:
        """Forget the entry in every tier."""
        self._entries.pop(key, None)
        if self._tier is not None:
            await self._tier.delete(key)

    def stats(self) -> CacheStats:
        return CacheStats(
            hits=self._hits,
            misses=self._misses,
            stale=self._stale,
            expired=self._expired,
            evicted=self._evicted,
            refused=self._refused,
            size=len(self._entries),
        )

    def _lookup(self, tier: str, hit: bool) -> None:
        metrics.CACHE_LOOKUPS.labels(self.name, tier, "hit" if hit else "miss").inc()

    def _memory_entry(self, key: str, count: bool = True) -> CacheEntry[V] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self._clock() >= entry.expires_at:
            if count:
                self._expired += 1
            del self._entries[key]
            return None
        return entry

    async def _load_shared(self, tier: CacheTier[V], key: str) -> CacheEntry[V] | None:
        shared = await tier.load(key)
        if shared is None:
            return None
        entry = CacheEntry(shared.value, dict(shared.deps), self._clock() + shared.ttl_s)
        self._remember(key, entry)
        return entry

    def _remember(self, key: str, entry: CacheEntry[V]) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
            self._evicted += 1
