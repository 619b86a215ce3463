"""`Shop`: the tools a support agent calls on the demo store, over one SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType

import aiosqlite

from . import queries, writes
from .db import Writer, open_connections
from .errors import UnknownCategory
from .models import (
    CancellationResult,
    KbArticle,
    Order,
    OrderRefundPolicy,
    PasswordResetTicket,
    PaymentHistory,
    RefundPolicy,
    RefundReceipt,
)
from .policy import strictest_policy

TOOL_NAMES = frozenset(
    {
        "get_order",
        "get_payment_history",
        "get_refund_policy",
        "get_order_refund_policy",
        "issue_refund",
        "cancel_order",
        "start_password_reset",
        "search_kb",
    }
)

FIELD_LATENCY: dict[str, float] = {
    "get_order": 1.2,
    "get_payment_history": 1.4,
    "get_refund_policy": 0.8,
    "get_order_refund_policy": 0.8,
}
"""Seconds the real back-office systems took per call in the field; pass as `latency=` to reproduce them."""

Latency = float | Mapping[str, float]


def _latency_table(latency: Latency) -> dict[str, float]:
    if isinstance(latency, int | float):
        return dict.fromkeys(TOOL_NAMES, float(latency))
    unknown = set(latency) - TOOL_NAMES
    if unknown:
        raise ValueError(f"latency given for unknown tools {sorted(unknown)}; tools are {sorted(TOOL_NAMES)}")
    return {name: float(latency.get(name, 0.0)) for name in TOOL_NAMES}


class Shop:
    """Tools over a seeded shop file: `shop = await Shop.open(path)`, or `async with await Shop.open(path)`.

    Reads share one connection; writes go through one `Writer` (asyncio.Lock + BEGIN IMMEDIATE), so they are
    safe across tasks and across processes on the same file. Writes are stamped with `as_of()`, the frozen
    moment of the demo shop, not the wall clock. Unknown order ids give None or a not-found result.
    """

    def __init__(self, reader: aiosqlite.Connection, writer: Writer, as_of: datetime, latency: Latency) -> None:
        self._reader = reader
        self._writer = writer
        self._as_of = as_of
        self._latency = _latency_table(latency)

    @classmethod
    async def open(cls, path: Path | str, *, latency: Latency = 0.0) -> Shop:
        """Open a seeded file. `latency`: seconds every tool waits first, or a per-tool mapping.

        Raises `ShopNotSeeded` when the file is missing or holds no shop, ValueError for unknown tool names.
        """
        table = _latency_table(latency)  # validate before opening anything
        reader, writer, as_of = await open_connections(Path(path))
        return cls(reader, writer, as_of, table)

    async def close(self) -> None:
        try:
            await self._writer.close()
        finally:
            await self._reader.close()

    async def __aenter__(self) -> Shop:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def as_of(self) -> datetime:
        """The frozen "now" of the demo shop (timezone-aware UTC); refund windows are judged against it."""
        return self._as_of

    async def _simulate_latency(self, tool: str) -> None:
        seconds = self._latency[tool]
        if seconds > 0:
            await asyncio.sleep(seconds)

    async def get_order(self, order_id: int) -> Order | None:
        """The order with items and customer email, or None when there is no such order."""
        await self._simulate_latency("get_order")
        return await queries.fetch_order(self._reader, order_id)

    async def get_payment_history(self, order_id: int) -> PaymentHistory:
        """Payments and refunds so far, with captured/refunded totals; `found=False` for an unknown order."""
        await self._simulate_latency("get_payment_history")
        return await queries.fetch_history(self._reader, order_id)

    async def get_refund_policy(self, category: str) -> RefundPolicy:
        """The refund policy of one product category; `UnknownCategory` when the shop has no such category."""
        await self._simulate_latency("get_refund_policy")
        policy = (await queries.fetch_policies(self._reader, [category])).get(category)
        if policy is None:
            raise UnknownCategory(category)
        return policy

    async def get_order_refund_policy(self, order_id: int) -> OrderRefundPolicy | None:
        """The policy governing a whole order (the strictest of its categories, named), or None if unknown."""
        await self._simulate_latency("get_order_refund_policy")
        order = await queries.fetch_order(self._reader, order_id)
        if order is None:
            return None
        return strictest_policy(order, await queries.fetch_policies(self._reader, order.categories))

    async def issue_refund(self, order_id: int, amount_cents: int, reason: str, idempotency_key: str) -> RefundReceipt:
        """Refund `amount_cents` (order currency) of `order_id`, at most once per `idempotency_key`.

        A key already used for the same order and amount returns the original receipt with `created=False`,
        without refunding again, even when calls race across tasks or processes. The balance is re-checked in
        the same transaction as the insert. The order becomes `refunded` when nothing is left to refund,
        otherwise `partially_refunded` (a cancelled order stays cancelled). Policy is not checked here: that
        is `assess_refund`'s job. Raises `RefundExceedsBalance`, `InvalidRefundAmount`, `OrderNotFound`,
        `IdempotencyKeyReused` (same key, different order or amount); ValueError for a blank key.
        """
        await self._simulate_latency("issue_refund")
        async with self._writer.transaction() as conn:
            return await writes.refund(conn, order_id, amount_cents, reason, idempotency_key, self._as_of)

    async def cancel_order(self, order_id: int, idempotency_key: str) -> CancellationResult:
        """Cancel a pending or paid order, refunding any captured payment, at most once per key.

        Other orders get `cancelled=False` with a `code` saying why (`order_not_found`, `already_cancelled`,
        `already_shipped`, `refunded`). Replaying a key that cancelled returns `created=False`. Raises
        `IdempotencyKeyReused` for a key used on another order.
        """
        await self._simulate_latency("cancel_order")
        async with self._writer.transaction() as conn:
            return await writes.cancel(conn, order_id, idempotency_key, self._as_of)

    async def start_password_reset(self, email: str, idempotency_key: str) -> PasswordResetTicket:
        """Record a password reset request and answer identically whether or not the account exists.

        Replaying a key returns the same ticket (`created=False`). Raises `InvalidEmail` for text that is not
        an address and `IdempotencyKeyReused` for a key used with another address.
        """
        await self._simulate_latency("start_password_reset")
        async with self._writer.transaction() as conn:
            return await writes.password_reset(conn, email, idempotency_key, self._as_of)

    async def search_kb(self, query: str, limit: int = 3) -> list[KbArticle]:
        """Help articles best matching free text (bm25), best first; any punctuation in `query` is safe."""
        await self._simulate_latency("search_kb")
        return await queries.search_articles(self._reader, query, limit)
