"""Who is calling: an API key names a tenant and a user, and every resource belongs to a tenant.

Keys arrive as `Authorization: Bearer <key>` or `x-api-key: <key>` (what `langgraph_sdk`
sends). Clients such as LangGraph Studio may send other credentials in those headers too
(a LangSmith key in `x-api-key`, say): each presented key is tried, and one valid key is
enough. With `SWITCHYARD_AUTH=off` nothing is checked and every thread is visible; the
server refuses that setting unless it listens on loopback only.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from starlette.datastructures import Headers

from infra.persistence.api_keys import ApiKey, KeyStore, key_id_of
from server.errors import ApiError

# A key looked up in the store is trusted this long: a revocation reaches every process within it.
CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class Principal:
    tenant: str
    user: str
    key_id: str


class Unauthorized(ApiError):
    status = 401
    code = "invalid_api_key"
    headers = {"WWW-Authenticate": "Bearer"}


def presented_keys(headers: Headers) -> list[str]:
    keys = []
    scheme, _, credential = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credential.strip():
        keys.append(credential.strip())
    if headers.get("x-api-key", "").strip():
        keys.append(headers["x-api-key"].strip())
    return keys


class Authenticator:
    def __init__(
        self,
        configured: Iterable[ApiKey],
        store: KeyStore,
        cache_seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._configured = {k.key_id: k for k in configured}
        self._store = store
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}

    async def authenticate(self, headers: Headers) -> Principal:
        keys = presented_keys(headers)
        if not keys:
            raise Unauthorized(
                "An API key is required: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'.",
                code="missing_api_key",
            )
        for key in keys:
            record = await self._record(key)
            if record is not None and record.accepts(key):
                return Principal(record.tenant, record.user, record.key_id)
        raise Unauthorized("The API key is not valid, or has been revoked.")

    async def _record(self, key: str) -> ApiKey | None:
        key_id = key_id_of(key)
        if key_id is None:
            return None
        if key_id in self._configured:
            return self._configured[key_id]
        cached = self._cache.get(key_id)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        record = await self._store.get(key_id)
        if len(self._cache) > 10_000:  # random ids must not grow the cache without bound
            self._cache.clear()
        self._cache[key_id] = (self._clock() + self._cache_seconds, record)
        return record


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def refuse_open_auth(auth: str, host: str) -> str | None:
    """Why the server must not start with these settings; None when it may."""
    if auth == "off" and not is_loopback(host):
        return (
            f"SWITCHYARD_AUTH=off is only allowed on a loopback address, not {host!r}: anyone who can reach "
            "the port would read every conversation. Create a key with `switchyard keys create`, or bind "
            "to 127.0.0.1."
        )
    return None
