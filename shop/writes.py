"""Write operations. Each runs inside a `Writer.transaction()`, so every check it makes still holds when it
writes; an idempotency key is looked up first, so a replay returns what the first call did."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

import aiosqlite

from .catalog import to_iso
from .errors import (
    IdempotencyKeyReused,
    InvalidEmail,
    InvalidRefundAmount,
    OrderNotFound,
    RefundExceedsBalance,
)
from .models import CancellationCode, CancellationResult, OrderStatus, PasswordResetTicket, RefundReceipt
from .policy import format_money
from .queries import fetch_history

RESET_LINK_VALID_FOR = timedelta(hours=1)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NOT_CANCELLABLE: dict[str, CancellationCode] = {
    "cancelled": "already_cancelled",
    "shipped": "already_shipped",
    "delivered": "already_shipped",
    "refunded": "refunded",
    "partially_refunded": "refunded",
}


def _require_key(idempotency_key: str) -> None:
    if not idempotency_key.strip():
        raise ValueError("idempotency_key must not be blank")


async def _order_status(conn: aiosqlite.Connection, order_id: int) -> OrderStatus | None:
    cursor = await conn.execute("SELECT status FROM orders WHERE id = ?", (order_id,))
    row = await cursor.fetchone()
    return None if row is None else row["status"]


async def _insert_refund(
    conn: aiosqlite.Connection,
    order_id: int,
    amount_cents: int,
    currency: str,
    reason: str,
    idempotency_key: str,
    now: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO refunds (order_id, amount_cents, currency, reason, idempotency_key, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (order_id, amount_cents, currency, reason, idempotency_key, to_iso(now)),
    )


async def refund(
    conn: aiosqlite.Connection,
    order_id: int,
    amount_cents: int,
    reason: str,
    idempotency_key: str,
    now: datetime,
) -> RefundReceipt:
    """Refund `amount_cents` of `order_id` once per key; see `Shop.issue_refund` for the contract."""
    _require_key(idempotency_key)
    cursor = await conn.execute("SELECT * FROM refunds WHERE idempotency_key = ?", (idempotency_key,))
    existing = await cursor.fetchone()
    if existing is not None:
        if (existing["order_id"], existing["amount_cents"]) != (order_id, amount_cents):
            raise IdempotencyKeyReused(
                f"key {idempotency_key!r} already refunded {existing['amount_cents']} cents on order "
                f"{existing['order_id']}"
            )
        return await _receipt(conn, existing, created=False)
    if amount_cents <= 0:
        raise InvalidRefundAmount(f"refund amount must be positive, got {amount_cents}")
    history = await fetch_history(conn, order_id)
    if not history.found or history.currency is None:
        raise OrderNotFound(order_id)
    if amount_cents > history.balance_cents:
        raise RefundExceedsBalance(order_id, amount_cents, history.balance_cents)
    await _insert_refund(conn, order_id, amount_cents, history.currency, reason, idempotency_key, now)
    fully = history.refunded_cents + amount_cents >= history.captured_cents
    # A cancelled order stays cancelled; otherwise the status says how much of the money went back.
    await conn.execute(
        "UPDATE orders SET status = CASE WHEN status = 'cancelled' THEN status ELSE ? END, updated_at = ? WHERE id = ?",
        ("refunded" if fully else "partially_refunded", to_iso(now), order_id),
    )
    cursor = await conn.execute("SELECT * FROM refunds WHERE idempotency_key = ?", (idempotency_key,))
    created = await cursor.fetchone()
    assert created is not None  # inserted just above, in this transaction
    return await _receipt(conn, created, created=True)


async def _receipt(conn: aiosqlite.Connection, row: aiosqlite.Row, *, created: bool) -> RefundReceipt:
    history = await fetch_history(conn, row["order_id"])
    status = await _order_status(conn, row["order_id"])
    assert status is not None  # refunds reference an existing order (foreign key)
    return RefundReceipt(
        refund_id=row["id"],
        order_id=row["order_id"],
        amount_cents=row["amount_cents"],
        currency=row["currency"],
        reason=row["reason"],
        idempotency_key=row["idempotency_key"],
        created_at=row["created_at"],
        created=created,
        order_status=status,
        refunded_cents=history.refunded_cents,
        balance_cents=history.balance_cents,
    )


async def cancel(conn: aiosqlite.Connection, order_id: int, idempotency_key: str, now: datetime) -> CancellationResult:
    """Cancel a pending or paid order once per key, refunding what was captured; see `Shop.cancel_order`."""
    _require_key(idempotency_key)
    cursor = await conn.execute("SELECT status, currency FROM orders WHERE id = ?", (order_id,))
    order = await cursor.fetchone()
    status: OrderStatus | None = None if order is None else order["status"]
    currency: str | None = None if order is None else order["currency"]

    def result(
        code: CancellationCode,
        message: str,
        *,
        refunded: int = 0,
        created: bool = False,
        order_status: OrderStatus | None = status,
    ) -> CancellationResult:
        return CancellationResult(
            order_id=order_id, cancelled=code == "cancelled", created=created, code=code, message=message,
            status=order_status, refunded_cents=refunded, currency=currency,
        )  # fmt: skip

    cursor = await conn.execute("SELECT * FROM cancellations WHERE idempotency_key = ?", (idempotency_key,))
    existing = await cursor.fetchone()
    if existing is not None:
        if existing["order_id"] != order_id:
            raise IdempotencyKeyReused(f"key {idempotency_key!r} already cancelled order {existing['order_id']}")
        message = f"Order {order_id} was cancelled by this request earlier."
        return result("cancelled", message, refunded=existing["refunded_cents"])
    if status is None or currency is None:
        return result("order_not_found", f"There is no order {order_id}.")
    if status not in ("pending", "paid"):
        readable = status.replace("_", " ")
        message = f"Order {order_id} is {readable}; only pending or paid orders can be cancelled."
        return result(_NOT_CANCELLABLE[status], message)

    balance = (await fetch_history(conn, order_id)).balance_cents
    if balance:
        key = f"cancel:{idempotency_key}"
        await _insert_refund(conn, order_id, balance, currency, "order cancelled", key, now)
    await conn.execute(
        "UPDATE orders SET status = 'cancelled', cancelled_at = ?, updated_at = ? WHERE id = ?",
        (to_iso(now), to_iso(now), order_id),
    )
    await conn.execute(
        "INSERT INTO cancellations (order_id, idempotency_key, refunded_cents, created_at) VALUES (?, ?, ?, ?)",
        (order_id, idempotency_key, balance, to_iso(now)),
    )
    refunded = f" and {format_money(balance, currency)} refunded" if balance else ""
    message = f"Order {order_id} was cancelled{refunded}."
    return result("cancelled", message, refunded=balance, created=True, order_status="cancelled")


def mask_email(email: str) -> str:
    """`alex.morgan@example.com` -> `a***@example.com`: enough to recognise, not enough to harvest."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


async def password_reset(
    conn: aiosqlite.Connection, email: str, idempotency_key: str, now: datetime
) -> PasswordResetTicket:
    """Record a reset request once per key; see `Shop.start_password_reset` for the contract."""
    _require_key(idempotency_key)
    normalised = email.strip().lower()
    if not _EMAIL.match(normalised):
        raise InvalidEmail("that does not look like an email address")
    cursor = await conn.execute("SELECT * FROM password_resets WHERE idempotency_key = ?", (idempotency_key,))
    row = await cursor.fetchone()
    created = row is None
    if row is None:
        cursor = await conn.execute("SELECT id FROM customers WHERE email = ?", (normalised,))
        customer = await cursor.fetchone()
        # Derived from the key, so a replay and a golden test see the same id.
        ticket_id = "pr_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
        await conn.execute(
            "INSERT INTO password_resets"
            " (ticket_id, idempotency_key, email, customer_id, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                ticket_id,
                idempotency_key,
                normalised,
                None if customer is None else customer["id"],
                to_iso(now),
                to_iso(now + RESET_LINK_VALID_FOR),
            ),
        )
        cursor = await conn.execute("SELECT * FROM password_resets WHERE ticket_id = ?", (ticket_id,))
        row = await cursor.fetchone()
        assert row is not None  # inserted just above, in this transaction
    elif row["email"] != normalised:
        raise IdempotencyKeyReused(f"key {idempotency_key!r} was used for another email address")
    masked = mask_email(row["email"])
    return PasswordResetTicket(
        ticket_id=row["ticket_id"],
        masked_email=masked,
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        created=created,
        message=f"If an account exists for {masked}, we have sent a link to reset the password. "
        "It is valid for 1 hour.",
    )
