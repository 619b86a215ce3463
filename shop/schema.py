"""SQLite schema of the demo shop.

The shop may share one file with other stores (`infra.settings.db_paths`), so every table it owns is listed in
`SHOP_TABLES` and a forced re-seed drops only those; the key/value table is `shop_meta`, not a generic `meta`.
"""

from __future__ import annotations

SCHEMA_VERSION = 1

ORDER_STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled", "refunded", "partially_refunded")

# Content tables in insertion order (parents first). `kb_search` is the FTS5 index over `kb_articles`.
SHOP_TABLES: tuple[str, ...] = (
    "shop_meta",
    "refund_policies",
    "customers",
    "orders",
    "order_items",
    "payments",
    "refunds",
    "cancellations",
    "password_resets",
    "kb_articles",
)
FTS_TABLE = "kb_search"

BUSY_TIMEOUT_MS = 10_000

# synchronous=NORMAL is durable enough under WAL (a crash loses at most the last commits, never corrupts).
PRAGMAS: tuple[str, ...] = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys=ON",
)

_statuses = ", ".join(f"'{s}'" for s in ORDER_STATUSES)

DDL: tuple[str, ...] = (
    """CREATE TABLE shop_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE refund_policies (
        category TEXT PRIMARY KEY,
        refundable INTEGER NOT NULL CHECK (refundable IN (0, 1)),
        window_days INTEGER CHECK (window_days IS NULL OR window_days > 0),
        requires_not_downloaded INTEGER NOT NULL CHECK (requires_not_downloaded IN (0, 1)),
        rules TEXT NOT NULL
    )""",
    """CREATE TABLE customers (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
    f"""CREATE TABLE orders (
        id INTEGER PRIMARY KEY,
        customer_id INTEGER NOT NULL REFERENCES customers (id),
        status TEXT NOT NULL CHECK (status IN ({_statuses})),
        currency TEXT NOT NULL CHECK (currency IN ('USD', 'EUR', 'GBP')),
        subtotal_cents INTEGER NOT NULL CHECK (subtotal_cents >= 0),
        shipping_cents INTEGER NOT NULL CHECK (shipping_cents >= 0),
        total_cents INTEGER NOT NULL CHECK (total_cents >= 0),
        created_at TEXT NOT NULL,
        paid_at TEXT,
        shipped_at TEXT,
        delivered_at TEXT,
        cancelled_at TEXT,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX orders_by_customer ON orders (customer_id)",
    """CREATE TABLE order_items (
        id INTEGER PRIMARY KEY,
        order_id INTEGER NOT NULL REFERENCES orders (id),
        sku TEXT NOT NULL,
        name TEXT NOT NULL,
        category TEXT NOT NULL REFERENCES refund_policies (category),
        quantity INTEGER NOT NULL CHECK (quantity > 0),
        unit_price_cents INTEGER NOT NULL CHECK (unit_price_cents >= 0),
        downloaded INTEGER NOT NULL DEFAULT 0 CHECK (downloaded IN (0, 1))
    )""",
    "CREATE INDEX order_items_by_order ON order_items (order_id)",
    """CREATE TABLE payments (
        id INTEGER PRIMARY KEY,
        order_id INTEGER NOT NULL REFERENCES orders (id),
        method TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('captured', 'failed')),
        amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
        currency TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX payments_by_order ON payments (order_id)",
    """CREATE TABLE refunds (
        id INTEGER PRIMARY KEY,
        order_id INTEGER NOT NULL REFERENCES orders (id),
        amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
        currency TEXT NOT NULL,
        reason TEXT NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX refunds_by_order ON refunds (order_id)",
    """CREATE TABLE cancellations (
        id INTEGER PRIMARY KEY,
        order_id INTEGER NOT NULL REFERENCES orders (id),
        idempotency_key TEXT NOT NULL UNIQUE,
        refunded_cents INTEGER NOT NULL,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE password_resets (
        id INTEGER PRIMARY KEY,
        ticket_id TEXT NOT NULL UNIQUE,
        idempotency_key TEXT NOT NULL UNIQUE,
        email TEXT NOT NULL,
        customer_id INTEGER REFERENCES customers (id),
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    )""",
    """CREATE TABLE kb_articles (
        id INTEGER PRIMARY KEY,
        slug TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        tags TEXT NOT NULL,
        body TEXT NOT NULL
    )""",
    # External-content FTS5 index: the text lives once, in kb_articles. Porter stemming lets "refunds" find
    # "refund".
    f"""CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5 (
        title, tags, body,
        content='kb_articles', content_rowid='id', tokenize='porter unicode61'
    )""",
)

# Children before parents, so foreign keys never point at a dropped table.
DROP: tuple[str, ...] = tuple(f"DROP TABLE IF EXISTS {t}" for t in (FTS_TABLE, *reversed(SHOP_TABLES)))

REBUILD_FTS = f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('rebuild')"
