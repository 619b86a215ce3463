"""API keys: each names a tenant and a user; only a SHA-256 digest is kept, never the key.

A key reads `syk_<id>_<secret>`: the id (12 hex digits) finds the record, the secret
(32 random bytes) proves possession. A fast digest is enough for a key with 256 bits of
entropy: nobody can guess one, so there is nothing to slow down. (Password hashes such
as Argon2 exist for low-entropy secrets and would cost ~50 ms on every request.)

Keys live in the settings (`SWITCHYARD_API_KEYS`, digests only) or in the store that
`switchyard keys` manages: a table of the SQLite records database in embedded mode, a
Redis hash in scale-out mode.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from redis.asyncio import Redis

from infra.jsonwire import dumps_str, loads
from infra.persistence.records import now
from infra.persistence.sqlite import connect_inline
from infra.settings import NAME_PATTERN

KEY_PREFIX = "syk"
_KEY = re.compile(r"^syk_([0-9a-f]{12})_([A-Za-z0-9_-]{20,})$")
NAME = re.compile(NAME_PATTERN)


@dataclass
class ApiKey:
    key_id: str
    tenant: str
    user: str
    sha256: str
    name: str = ""
    created_at: datetime = field(default_factory=now)
    revoked_at: datetime | None = None

    def accepts(self, key: str) -> bool:
        return self.revoked_at is None and hmac.compare_digest(digest(key), self.sha256)

    def public(self) -> dict[str, str | None]:
        """What `keys list` shows: everything but the digest."""
        return {
            "id": self.key_id,
            "tenant": self.tenant,
            "user": self.user,
            "name": self.name,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_id_of(key: str) -> str | None:
    """The id part of a well-formed key; None for anything else."""
    match = _KEY.match(key)
    return match.group(1) if match else None


def check_name(kind: str, value: str) -> str:
    if not NAME.match(value):
        raise ValueError(f"{kind} must be 1-64 letters, digits, '_' or '-', starting with a letter or digit: {value!r}")
    return value


def new_key(tenant: str, user: str, name: str = "") -> tuple[str, ApiKey]:
    """A fresh key and its record. The key is shown once; only the record is stored."""
    key_id = secrets.token_hex(6)
    key = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    return key, ApiKey(key_id, check_name("tenant", tenant), check_name("user", user), digest(key), name)


def _encode(key: ApiKey) -> str:
    doc = asdict(key)
    doc["created_at"] = key.created_at.isoformat()
    doc["revoked_at"] = key.revoked_at.isoformat() if key.revoked_at else None
    return dumps_str(doc)


def _decode(raw: str | bytes) -> ApiKey:
    doc = loads(raw)
    doc["created_at"] = datetime.fromisoformat(doc["created_at"])
    doc["revoked_at"] = datetime.fromisoformat(doc["revoked_at"]) if doc.get("revoked_at") else None
    return ApiKey(**doc)


class KeyStore(Protocol):
    async def put(self, key: ApiKey) -> None: ...
    async def get(self, key_id: str) -> ApiKey | None: ...
    async def list(self) -> list[ApiKey]: ...
    async def close(self) -> None: ...


async def revoke(store: KeyStore, key_id: str) -> bool:
    """Mark the key revoked. False when there is no such key, or it was revoked already."""
    key = await store.get(key_id)
    if key is None or key.revoked_at is not None:
        return False
    key.revoked_at = now()
    await store.put(key)
    return True


class SqliteKeyStore:
    """Keys in the records database (embedded mode); statements run inline, as the record store's do."""

    def __init__(self, path: Path | str) -> None:
        self._conn = connect_inline(path)
        self._conn.execute("CREATE TABLE IF NOT EXISTS sy_api_keys (key_id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
        self._conn.commit()

    async def put(self, key: ApiKey) -> None:
        with self._conn:
            self._conn.execute("INSERT OR REPLACE INTO sy_api_keys VALUES (?, ?)", (key.key_id, _encode(key)))

    async def get(self, key_id: str) -> ApiKey | None:
        row = self._conn.execute("SELECT doc FROM sy_api_keys WHERE key_id = ?", (key_id,)).fetchone()
        return _decode(row[0]) if row else None

    async def list(self) -> list[ApiKey]:
        rows = self._conn.execute("SELECT doc FROM sy_api_keys").fetchall()
        return sorted((_decode(r[0]) for r in rows), key=lambda k: k.created_at)

    async def close(self) -> None:
        self._conn.close()


class RedisKeyStore:
    """Keys in one Redis hash (scale-out mode), `<prefix>:apikeys`: key id -> record as JSON."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self._hash = f"{prefix}:apikeys"

    async def put(self, key: ApiKey) -> None:
        await self.redis.hset(self._hash, key.key_id, _encode(key))

    async def get(self, key_id: str) -> ApiKey | None:
        raw = await self.redis.hget(self._hash, key_id)
        return None if raw is None else _decode(raw)

    async def list(self) -> list[ApiKey]:
        records = await self.redis.hgetall(self._hash)
        return sorted((_decode(raw) for raw in records.values()), key=lambda k: k.created_at)

    async def close(self) -> None:
        return None
