"""Read queries, shared by the read tools and by the write transactions that must re-check state."""

from __future__ import annotations

import re
from collections.abc import Iterable

import aiosqlite

from .models import KbArticle, Order, OrderItem, Payment, PaymentHistory, Refund, RefundPolicy
from .schema import FTS_TABLE

# Words that match nearly every article and would only dilute bm25.
_STOP_WORDS = frozenset(
    "a an and are be can do does for from how i in is it my of on or the to what when where which why "
    "with you your me we our".split()
)
_MAX_TERMS = 16


async def fetch_order(conn: aiosqlite.Connection, order_id: int) -> Order | None:
    cursor = await conn.execute(
        "SELECT o.*, c.email, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = ?",
        (order_id,),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    cursor = await conn.execute("SELECT * FROM order_items WHERE order_id = ? ORDER BY id", (order_id,))
    items = [
        OrderItem(
            sku=i["sku"],
            name=i["name"],
            category=i["category"],
            quantity=i["quantity"],
            unit_price_cents=i["unit_price_cents"],
            line_total_cents=i["quantity"] * i["unit_price_cents"],
            downloaded=bool(i["downloaded"]),
        )
        for i in await cursor.fetchall()
    ]
    return Order(
        order_id=row["id"],
        customer_id=row["customer_id"],
        customer_email=row["email"],
        customer_name=row["name"],
        status=row["status"],
        currency=row["currency"],
        items=items,
        subtotal_cents=row["subtotal_cents"],
        shipping_cents=row["shipping_cents"],
        total_cents=row["total_cents"],
        created_at=row["created_at"],
        paid_at=row["paid_at"],
        shipped_at=row["shipped_at"],
        delivered_at=row["delivered_at"],
        cancelled_at=row["cancelled_at"],
        updated_at=row["updated_at"],
    )


async def fetch_history(conn: aiosqlite.Connection, order_id: int) -> PaymentHistory:
    """Payments and refunds of an order; `found=False` with zero totals when the order does not exist."""
    cursor = await conn.execute("SELECT currency FROM orders WHERE id = ?", (order_id,))
    order = await cursor.fetchone()
    if order is None:
        return PaymentHistory(
            order_id=order_id,
            found=False,
            currency=None,
            payments=[],
            refunds=[],
            captured_cents=0,
            refunded_cents=0,
            balance_cents=0,
        )
    cursor = await conn.execute("SELECT * FROM payments WHERE order_id = ? ORDER BY id", (order_id,))
    payments = [
        Payment(
            payment_id=p["id"],
            method=p["method"],
            status=p["status"],
            amount_cents=p["amount_cents"],
            currency=p["currency"],
            created_at=p["created_at"],
        )
        for p in await cursor.fetchall()
    ]
    cursor = await conn.execute("SELECT * FROM refunds WHERE order_id = ? ORDER BY id", (order_id,))
    refunds = [
        Refund(
            refund_id=r["id"],
            amount_cents=r["amount_cents"],
            currency=r["currency"],
            reason=r["reason"],
            created_at=r["created_at"],
        )
        for r in await cursor.fetchall()
    ]
    captured = sum(p.amount_cents for p in payments if p.status == "captured")
    refunded = sum(r.amount_cents for r in refunds)
    return PaymentHistory(
        order_id=order_id,
        found=True,
        currency=order["currency"],
        payments=payments,
        refunds=refunds,
        captured_cents=captured,
        refunded_cents=refunded,
        balance_cents=max(captured - refunded, 0),
    )


async def fetch_policies(conn: aiosqlite.Connection, categories: Iterable[str]) -> dict[str, RefundPolicy]:
    """Policies of the given categories that exist, keyed by category."""
    wanted = list(dict.fromkeys(categories))
    if not wanted:
        return {}
    cursor = await conn.execute(
        f"SELECT * FROM refund_policies WHERE category IN ({', '.join('?' * len(wanted))})", wanted
    )
    return {
        r["category"]: RefundPolicy(
            category=r["category"],
            refundable=bool(r["refundable"]),
            window_days=r["window_days"],
            requires_not_downloaded=bool(r["requires_not_downloaded"]),
            rules=r["rules"],
        )
        for r in await cursor.fetchall()
    }


def match_expression(query: str) -> str | None:
    """Turn free text into a safe FTS5 MATCH expression, or None when it has no searchable word.

    FTS5 has its own query syntax (quotes, `-`, `:`, `*`, AND/OR/NOT, parentheses), so user text is never
    passed through: it is cut into word tokens, each quoted, joined with OR and left to bm25 to rank.
    """
    tokens = list(dict.fromkeys(re.findall(r"\w+", query.lower())))
    meaningful = [t for t in tokens if t not in _STOP_WORDS] or tokens
    if not meaningful:
        return None
    return " OR ".join(f'"{t}"' for t in meaningful[:_MAX_TERMS])


async def search_articles(conn: aiosqlite.Connection, query: str, limit: int) -> list[KbArticle]:
    expression = match_expression(query)
    if expression is None or limit <= 0:
        return []
    # bm25 weights per column (title, tags, body): a hit in the title says more than one in the body.
    cursor = await conn.execute(
        f"SELECT a.id, a.slug, a.title, a.body, a.tags, bm25({FTS_TABLE}, 10.0, 5.0, 1.0) AS rank"
        f" FROM {FTS_TABLE} JOIN kb_articles a ON a.id = {FTS_TABLE}.rowid"
        f" WHERE {FTS_TABLE} MATCH ? ORDER BY rank, a.id LIMIT ?",
        (expression, limit),
    )
    return [
        KbArticle(
            article_id=r["id"],
            slug=r["slug"],
            title=r["title"],
            body=r["body"],
            tags=[t.strip() for t in r["tags"].split(",") if t.strip()],
            score=-r["rank"],
        )
        for r in await cursor.fetchall()
    ]
