"""API keys, the authenticator and the per-key limits, on a real SQLite file and a real redis-server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from starlette.datastructures import Headers

from infra.persistence.api_keys import KeyStore, RedisKeyStore, SqliteKeyStore, digest, key_id_of, new_key, revoke
from server.auth import Authenticator, Unauthorized, is_loopback, refuse_open_auth
from server.limits import LocalLimits, RateLimited, RedisLimits


@pytest.fixture(params=["sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path, redis: Redis) -> AsyncIterator[KeyStore]:
    opened: KeyStore = (
        SqliteKeyStore(tmp_path / "records.db") if request.param == "sqlite" else RedisKeyStore(redis, "t")
    )
    yield opened
    await opened.close()


def test_a_key_is_stored_as_a_digest_only() -> None:
    key, record = new_key("acme", "alice", "ci")
    assert key.startswith("syk_") and key_id_of(key) == record.key_id
    assert record.sha256 == digest(key) and key not in repr(record)
    assert record.accepts(key) and not record.accepts(key + "x")
    other, _ = new_key("acme", "alice")
    assert not record.accepts(other)
    for bad in ("", "syk_", "syk_nothex00000_" + "a" * 43, "Bearer " + key):
        assert key_id_of(bad) is None
    with pytest.raises(ValueError):
        new_key("acme corp", "alice")


async def test_store_round_trip_and_revoke(store: KeyStore) -> None:
    key, record = new_key("acme", "alice")
    await store.put(record)
    found = await store.get(record.key_id)
    assert found is not None and found.accepts(key)
    assert [k.key_id for k in await store.list()] == [record.key_id]
    assert await revoke(store, record.key_id)
    assert not await revoke(store, record.key_id)
    revoked = await store.get(record.key_id)
    assert revoked is not None and revoked.revoked_at is not None and not revoked.accepts(key)
    assert await store.get("000000000000") is None


async def test_authenticator_tries_each_presented_key_and_caches_lookups(tmp_path: Path) -> None:
    store = SqliteKeyStore(tmp_path / "records.db")
    key, record = new_key("acme", "alice")
    configured_key, configured = new_key("initech", "eve")
    await store.put(record)
    now = [0.0]
    auth = Authenticator([configured], store, cache_seconds=5, clock=lambda: now[0])
    principal = await auth.authenticate(Headers({"authorization": "Bearer lsv2_other", "x-api-key": key}))
    assert (principal.tenant, principal.user, principal.key_id) == ("acme", "alice", record.key_id)
    assert (await auth.authenticate(Headers({"authorization": f"bearer {configured_key}"}))).tenant == "initech"
    with pytest.raises(Unauthorized) as missing:
        await auth.authenticate(Headers({}))
    assert missing.value.code == "missing_api_key"
    await revoke(store, record.key_id)
    assert (await auth.authenticate(Headers({"x-api-key": key}))).tenant == "acme"  # still cached
    now[0] = 6.0
    with pytest.raises(Unauthorized) as revoked:
        await auth.authenticate(Headers({"x-api-key": key}))
    assert revoked.value.code == "invalid_api_key" and revoked.value.status == 401
    await store.close()


def test_auth_off_only_on_loopback() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "::1", "[::1]", "localhost", "127.0.0.2"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.1", "example.com"))
    assert refuse_open_auth("off", "127.0.0.1") is None and refuse_open_auth("on", "0.0.0.0") is None
    assert "loopback" in (refuse_open_auth("off", "0.0.0.0") or "")


async def test_local_limits() -> None:
    now = [0.0]
    limits = LocalLimits(runs_per_minute=2, max_streams=1, clock=lambda: now[0])
    await limits.admit_run("k")
    await limits.admit_run("k")
    with pytest.raises(RateLimited) as refused:
        await limits.admit_run("k")
    assert refused.value.headers == {"Retry-After": "30"}
    await limits.admit_run("other")
    now[0] = 30.0
    await limits.admit_run("k")
    slot = await limits.open_stream("k")
    with pytest.raises(RateLimited):
        await limits.open_stream("k")
    await slot.release()
    await slot.release()  # idempotent: the second release must not free another stream's slot
    held = await limits.open_stream("k")
    with pytest.raises(RateLimited):
        await limits.open_stream("k")
    await held.release()


async def test_redis_limits_are_shared_and_a_dead_process_streams_lapse(redis: Redis) -> None:
    a = RedisLimits(redis, "t", runs_per_minute=3, max_streams=2, lease_seconds=0.6)
    b = RedisLimits(redis, "t", runs_per_minute=3, max_streams=2, lease_seconds=0.6)
    await a.admit_run("k")
    await b.admit_run("k")
    await a.admit_run("k")
    with pytest.raises(RateLimited) as refused:
        await b.admit_run("k")
    assert 1 <= int(refused.value.headers["Retry-After"]) <= 20
    held = await a.open_stream("k")
    dying = await b.open_stream("k")
    with pytest.raises(RateLimited):
        await a.open_stream("k")
    await asyncio.sleep(1.0)  # a renews its lease meanwhile: still held
    with pytest.raises(RateLimited):
        await b.open_stream("k")
    # b dies without releasing: its renewer stops, and its stream stops counting within a lease.
    await b.close()
    b._open.clear()
    del dying
    await asyncio.sleep(0.9)
    replacement = await a.open_stream("k")
    await held.release()
    await replacement.release()
    assert await redis.zcard("{t:limits}:streams:k") == 0
    await a.close()
