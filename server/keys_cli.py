"""`switchyard keys create|list|revoke`: API keys in the store the server reads.

The store is the server's: the SQLite records database under `--db` in embedded mode,
Redis under `--redis-url` (and `--redis-prefix`) in scale-out mode. A new key is printed
once, on stdout and alone, so `KEY=$(switchyard keys create ...)` works; only its digest
is kept. With `--no-store` the key is not stored at all and the `SWITCHYARD_API_KEYS`
entry that admits it is printed instead, for deployments that configure keys by setting.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from infra.persistence import redis_client
from infra.persistence.api_keys import KeyStore, RedisKeyStore, SqliteKeyStore, new_key, revoke
from infra.settings import Settings, db_paths


@asynccontextmanager
async def _store(args: argparse.Namespace) -> AsyncIterator[tuple[KeyStore, str]]:
    settings = Settings.with_options(args, "db", "redis_url", "redis_prefix")
    if settings.redis_url:
        redis = redis_client.connect(settings.redis_url)
        try:
            yield RedisKeyStore(redis, settings.redis_prefix), f"Redis {redis_client.redacted(settings.redis_url)}"
        finally:
            await redis.aclose()
    else:
        path = db_paths(settings.db).records
        path.parent.mkdir(parents=True, exist_ok=True)
        store = SqliteKeyStore(path)
        try:
            yield store, str(path)
        finally:
            await store.close()


async def _create(args: argparse.Namespace) -> int:
    try:
        key, record = new_key(args.tenant, args.user, args.name or "")
    except ValueError as exc:
        print(f"keys create: {exc}", file=sys.stderr)
        return 2
    if args.no_store:
        entry = {"id": record.key_id, "tenant": record.tenant, "user": record.user, "sha256": record.sha256}
        print(f"SWITCHYARD_API_KEYS entry (add it to the list): {json.dumps(entry)}", file=sys.stderr)
    else:
        async with _store(args) as (store, where):
            await store.put(record)
        print(
            f"key {record.key_id} for tenant {record.tenant!r}, user {record.user!r} stored in {where}", file=sys.stderr
        )
    print("This is the only time the key is shown; only its SHA-256 digest is kept.", file=sys.stderr)
    print(key)
    return 0


async def _list(args: argparse.Namespace) -> int:
    async with _store(args) as (store, where):
        keys = [k.public() for k in await store.list() if args.tenant is None or k.tenant == args.tenant]
    if args.json:
        print(json.dumps(keys, indent=2))
        return 0
    print(f"{len(keys)} key(s) in {where}", file=sys.stderr)
    for k in keys:
        state = f"revoked {k['revoked_at']}" if k["revoked_at"] else "active"
        print(f"{k['id']}  tenant={k['tenant']}  user={k['user']}  created={k['created_at']}  {state}  {k['name']}")
    return 0


async def _revoke(args: argparse.Namespace) -> int:
    async with _store(args) as (store, where):
        if not await revoke(store, args.key_id):
            print(f"keys revoke: no active key {args.key_id!r} in {where}", file=sys.stderr)
            return 1
    print(f"revoked {args.key_id}; running servers refuse it within a few seconds", file=sys.stderr)
    return 0


def keys(args: argparse.Namespace) -> int:
    actions: dict[str, Any] = {"create": _create, "list": _list, "revoke": _revoke}
    return int(asyncio.run(actions[args.action](args)))


def add_parser(sub: Any) -> None:
    k = sub.add_parser("keys", help="create, list and revoke API keys")
    actions = k.add_subparsers(dest="action", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", type=Path, help="the server's database folder or file (SWITCHYARD_DB, default ./var)")
    common.add_argument("--redis-url", dest="redis_url", help="scale-out: the server's Redis (SWITCHYARD_REDIS_URL)")
    common.add_argument("--redis-prefix", dest="redis_prefix", help="its key prefix (SWITCHYARD_REDIS_PREFIX)")

    c = actions.add_parser("create", parents=[common], help="make a key for a tenant and user; prints it once")
    c.add_argument("--tenant", required=True, help="who owns what the key creates (letters, digits, _ and -)")
    c.add_argument("--user", required=True, help="who the key is for")
    c.add_argument("--name", help="a note, e.g. where the key is used")
    c.add_argument(
        "--no-store", action="store_true", help="do not store it; print the SWITCHYARD_API_KEYS entry instead"
    )
    lst = actions.add_parser("list", parents=[common], help="list keys (never the keys themselves)")
    lst.add_argument("--tenant", help="only this tenant's keys")
    lst.add_argument("--json", action="store_true", help="as JSON")
    r = actions.add_parser("revoke", parents=[common], help="revoke a key by its id")
    r.add_argument("key_id", help="the id `keys list` shows (the 12 hex digits after syk_)")
    k.set_defaults(func=keys)
