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
    expires_at: float


@dataclass(frozen=True)
class CacheStats:
    hits: int
    misses: int  # every miss, including the stale and expired ones below
    stale: int  # evicted because a dependency had moved on
    expired: int
    evicted: int  # least recently used, to stay within max_entries
    refused: int  # puts of side-effecting results (cacheable=False)
    size: int


class CacheTier(Protocol[V]):
    """A second tier behind the in-memory one (shared, e.g. Redis, later). It stores whole
    entries and must answer without blocking the event loop (a local replica, a client-side
    cache), because the in-memory tier is used synchronously on the hot path. `expires_at` is
    a time of the cache's clock, so sharers must agree on one (`time.time`, not monotonic)."""

    def load(self, key: str) -> CacheEntry[V] | None: ...

    def store(self, key: str, entry: CacheEntry[V]) -> None: ...

    def delete(self, key: str) -> None: ...


class ResponseCache(Generic[V]):
    def __init__(
        self,
        max_entries: int,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
        second_tier: CacheTier[V] | None = None,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._clock = clock
        self._tier = second_tier
        self._entries: OrderedDict[str, CacheEntry[V]] = OrderedDict()
        self._hits = self._misses = self._stale = self._expired = self._evicted = self._refused = 0

    def get(self, key: str, deps: Mapping[str, str]) -> V | None:
        """The cached value if it is fresh and was computed from exactly these dependency versions."""
        entry = self._live_entry(key)
        if entry is None:
            self._misses += 1
            return None
        if dict(entry.deps) != dict(deps):
            self._stale += 1
            self._misses += 1
            self._drop(key)
            return None
        self._hits += 1
        self._entries.move_to_end(key)
        return entry.value

    def peek(self, key: str) -> V | None:
        """The value without checking dependencies and without counting or reordering: only to
        learn which dependencies to look up before the real `get`. Never answer from it."""
        entry = self._live_entry(key, count=False)
        return entry.value if entry is not None else None

    def put(self, key: str, value: V, deps: Mapping[str, str], *, cacheable: bool, ttl_s: float | None = None) -> bool:
        """Store `value`, computed from `deps`. Returns False (storing nothing) unless `cacheable`."""
        if not cacheable:
            self._refused += 1
            return False
        entry = CacheEntry(value, dict(deps), self._clock() + (self.ttl_s if ttl_s is None else ttl_s))
        self._entries[key] = entry
        self._entries.move_to_end(key)
        self._trim()
        if self._tier is not None:
            self._tier.store(key, entry)
        return True

    def invalidate(self, key: str) -> None:
        self._drop(key)

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

    def _live_entry(self, key: str, count: bool = True) -> CacheEntry[V] | None:
        entry = self._entries.get(key)
        if entry is None and self._tier is not None:
            entry = self._tier.load(key)
            if entry is not None:
                self._entries[key] = entry  # promote into the memory tier
                self._trim()
        if entry is None:
            return None
        if self._clock() >= entry.expires_at:
            if count:
                self._expired += 1
            self._drop(key)
            return None
        return entry

    def _trim(self) -> None:
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
            self._evicted += 1

    def _drop(self, key: str) -> None:
        self._entries.pop(key, None)
        if self._tier is not None:
            self._tier.delete(key)
