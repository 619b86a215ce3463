"""Build the demo shop database from a seed number, deterministically and in one transaction."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path

from pydantic import BaseModel

from . import schema
from .catalog import AS_OF, POLICIES, to_iso
from .fixtures import FIXTURE_ORDERS
from .generate import generate
from .kb_articles import ARTICLES


def _insert(table: str, columns: str) -> str:
    return f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(columns.split(',')))})"


_INSERTS = {
    "customers": _insert("customers", "id, email, name, created_at"),
    "orders": _insert(
        "orders",
        "id, customer_id, status, currency, subtotal_cents, shipping_cents, total_cents, created_at, paid_at,"
        " shipped_at, delivered_at, cancelled_at, updated_at",
    ),
    "items": _insert("order_items", "id, order_id, sku, name, category, quantity, unit_price_cents, downloaded"),
    "payments": _insert("payments", "id, order_id, method, status, amount_cents, currency, created_at"),
    "refunds": _insert("refunds", "id, order_id, amount_cents, currency, reason, idempotency_key, created_at"),
    "policies": _insert("refund_policies", "category, refundable, window_days, requires_not_downloaded, rules"),
    "articles": _insert("kb_articles", "id, slug, title, tags, body"),
    "meta": _insert("shop_meta", "key, value"),
}


class SeedSummary(BaseModel):
    """What `seed_database` found or built. When `created` is False the numbers describe the existing shop."""

    path: str
    created: bool
    seed: int
    customers: int
    orders: int
    as_of: str
    message: str


def has_shop(path: Path | str) -> bool:
    """True when `path` is an SQLite file that holds a seeded shop. Never creates the file."""
    path = Path(path)
    if not path.is_file():
        return False
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
        return _read_meta(conn) is not None


def seed_database(
    path: Path | str,
    *,
    seed: int = 42,
    customers: int = 2000,
    orders: int = 10000,
    force: bool = False,
) -> SeedSummary:
    """Create the shop tables in `path` and fill them from `random.Random(seed)`.

    The same seed and sizes always give identical table content. An already seeded file is left alone
    (`created=False`) unless `force`, which drops and rebuilds only the shop's own tables. Order ids are
    10001..10000+orders and always include the fixture orders, so `orders` must be at least their count.
    """
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if orders < len(FIXTURE_ORDERS):
        raise ValueError(f"orders must be at least {len(FIXTURE_ORDERS)} to hold the fixture orders")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        for pragma in schema.PRAGMAS:
            conn.execute(pragma)
        # IMMEDIATE takes the write lock before looking, so two processes starting at once seed only once.
        conn.execute("BEGIN IMMEDIATE")
        try:
            existing = _read_meta(conn)
            if existing is not None and not force:
                conn.execute("ROLLBACK")
                return SeedSummary(
                    path=str(path),
                    created=False,
                    seed=int(existing["seed"]),
                    customers=int(existing["customers"]),
                    orders=int(existing["orders"]),
                    as_of=existing["as_of"],
                    message=f"{path} already holds a shop (seed {existing['seed']}); nothing done. "
                    "Pass force=True to rebuild it.",
                )
            _build(conn, seed=seed, customers=customers, orders=orders)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    elapsed = time.perf_counter() - started
    return SeedSummary(
        path=str(path),
        created=True,
        seed=seed,
        customers=customers,
        orders=orders,
        as_of=to_iso(AS_OF),
        message=f"Seeded {customers} customers and {orders} orders (seed {seed}) in {elapsed:.2f} s.",
    )


def _read_meta(conn: sqlite3.Connection) -> dict[str, str] | None:
    """The shop_meta key/values, or None when the file holds no completed seed."""
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'shop_meta'").fetchone()
    if found is None:
        return None
    meta = dict(conn.execute("SELECT key, value FROM shop_meta").fetchall())
    return meta if "as_of" in meta else None


def _build(conn: sqlite3.Connection, *, seed: int, customers: int, orders: int) -> None:
    for statement in schema.DROP + schema.DDL:
        conn.execute(statement)
    policies = [
        (p.category, int(p.refundable), p.window_days, int(p.requires_not_downloaded), p.rules) for p in POLICIES
    ]
    articles = [(i, a.slug, a.title, ", ".join(a.tags), a.body) for i, a in enumerate(ARTICLES, start=1)]
    rows = generate(seed, customers, orders)
    conn.executemany(_INSERTS["policies"], policies)
    conn.executemany(_INSERTS["articles"], articles)
    conn.execute(schema.REBUILD_FTS)
    conn.executemany(_INSERTS["customers"], rows.customers)
    conn.executemany(_INSERTS["orders"], rows.orders)
    conn.executemany(_INSERTS["items"], rows.items)
    conn.executemany(_INSERTS["payments"], rows.payments)
    conn.executemany(_INSERTS["refunds"], rows.refunds)
    # Written last: a shop counts as seeded only once everything above is in.
    meta = {
        "as_of": to_iso(AS_OF),
        "seed": str(seed),
        "customers": str(customers),
        "orders": str(orders),
        "schema_version": str(schema.SCHEMA_VERSION),
    }
    conn.executemany(_INSERTS["meta"], sorted(meta.items()))
