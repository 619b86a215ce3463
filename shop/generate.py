"""Turn a seed number into the rows of the demo shop. Pure: the same arguments always give the same rows."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .catalog import (
    AS_OF,
    CURRENCIES,
    DIGITAL_CATEGORIES,
    FREE_SHIPPING_FROM_CENTS,
    PRODUCTS,
    PRODUCTS_BY_SKU,
    SHIPPING_CENTS,
    Product,
    to_iso,
)
from .fixtures import FIXTURE_CUSTOMER_EMAIL, FIXTURE_CUSTOMER_ID, FIXTURE_ORDERS, FixtureOrder

FIRST_ORDER_ID = 10001

Row = tuple[object, ...]

_FIRST_NAMES = (
    "James Maria Wei Fatima Liam Olivia Noah Emma Lucas Sofia Mateo Aisha Ethan Chloe Hiroshi Priya Daniel "
    "Elena Omar Grace Jonas Lena Kwame Isabel Ravi Mia Tomas Nora Samuel Yuki"
).split()
_LAST_NAMES = (
    "Smith Garcia Chen Khan Johnson Muller Rossi Dubois Nowak Silva Kim Patel Brown Jensen Okafor Tanaka "
    "Novak Lopez Walker Ivanova Hughes Costa Fischer Moreau Singh Evans Berg Murphy Haddad Sato"
).split()
_DOMAINS = ("example.com", "example.org", "example.net")

_STATUS_WEIGHTS = {
    "delivered": 55,
    "shipped": 9,
    "paid": 6,
    "pending": 5,
    "cancelled": 8,
    "refunded": 9,
    "partially_refunded": 8,
}
_METHOD_WEIGHTS = {"card": 70, "paypal": 15, "apple_pay": 10, "google_pay": 5}
_REFUND_REASONS = ("changed mind", "arrived damaged", "wrong size", "late delivery", "not as described")


@dataclass
class ShopRows:
    """Rows in the column order of the INSERT statements in `seed.py`."""

    customers: list[Row] = field(default_factory=list)
    orders: list[Row] = field(default_factory=list)
    items: list[Row] = field(default_factory=list)
    payments: list[Row] = field(default_factory=list)
    refunds: list[Row] = field(default_factory=list)


@dataclass(frozen=True)
class _Timeline:
    created: datetime
    paid: datetime | None = None
    shipped: datetime | None = None
    delivered: datetime | None = None
    cancelled: datetime | None = None
    refunded: datetime | None = None


@dataclass(frozen=True)
class _Line:
    product: Product
    quantity: int
    downloaded: bool = False


@dataclass(frozen=True)
class _OrderPlan:
    """Everything that decides one order's rows."""

    order_id: int
    customer_id: int
    status: str
    currency: str
    lines: list[_Line]
    timeline: _Timeline
    refunded_cents: int = 0
    refund_reason: str = "changed mind"
    method: str = "card"
    failed_attempt: bool = False


def generate(seed: int, customers: int, orders: int) -> ShopRows:
    """All customers, orders, items, payments and refunds for `seed`; fixture orders replace random ones."""
    rng = random.Random(seed)
    rows = ShopRows()
    _add_customers(rng, rows, customers)
    fixtures = {f.order_id: f for f in FIXTURE_ORDERS}
    for order_id in range(FIRST_ORDER_ID, FIRST_ORDER_ID + orders):
        fixture = fixtures.get(order_id)
        if fixture is not None:
            _add_fixture_order(rows, fixture)
        else:
            _add_random_order(rng, rows, order_id, rng.randint(1, customers))
    return rows


def _add_customers(rng: random.Random, rows: ShopRows, count: int) -> None:
    rows.customers.append(
        (FIXTURE_CUSTOMER_ID, FIXTURE_CUSTOMER_EMAIL, "Alex Morgan", to_iso(AS_OF - timedelta(days=900)))
    )
    for customer_id in range(FIXTURE_CUSTOMER_ID + 1, count + 1):
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        # The id in the address keeps emails unique without retries.
        email = f"{first.lower()}.{last.lower()}{customer_id}@{rng.choice(_DOMAINS)}"
        joined = AS_OF - timedelta(days=rng.uniform(380, 1500))
        rows.customers.append((customer_id, email, f"{first} {last}", to_iso(joined)))


def _days_ago(days: float | None) -> datetime | None:
    return None if days is None else AS_OF - timedelta(days=days)


def _add_fixture_order(rows: ShopRows, spec: FixtureOrder) -> None:
    created = AS_OF - timedelta(days=spec.placed_days_ago)
    unpaid = spec.status == "pending" or (spec.status == "cancelled" and spec.refunded_cents == 0)
    delivered = _days_ago(spec.delivered_days_ago)
    refunded = min(delivered + timedelta(days=2), AS_OF) if delivered and spec.refunded_cents else None
    timeline = _Timeline(
        created=created,
        paid=None if unpaid else created + timedelta(minutes=5),
        shipped=_days_ago(spec.shipped_days_ago),
        delivered=delivered,
        cancelled=_days_ago(spec.cancelled_days_ago),
        refunded=refunded,
    )
    lines = [_Line(PRODUCTS_BY_SKU[sku], 1, spec.downloaded) for sku in spec.skus]
    plan = _OrderPlan(
        spec.order_id, FIXTURE_CUSTOMER_ID, spec.status, spec.currency, lines, timeline, spec.refunded_cents
    )
    _add_order(rows, plan)


def _add_random_order(rng: random.Random, rows: ShopRows, order_id: int, customer_id: int) -> None:
    status = rng.choices(list(_STATUS_WEIGHTS), weights=list(_STATUS_WEIGHTS.values()))[0]
    currency = rng.choices([c for c, _ in CURRENCIES], weights=[w for _, w in CURRENCIES])[0]
    products = rng.sample(PRODUCTS, rng.choices((1, 2, 3, 4), weights=(50, 28, 14, 8))[0])
    delivered_kind = status in ("delivered", "refunded", "partially_refunded")
    lines = [
        _Line(
            p,
            1 if p.price_cents >= FREE_SHIPPING_FROM_CENTS else rng.choice((1, 1, 1, 2, 3)),
            downloaded=delivered_kind and p.category == "digital" and rng.random() < 0.6,
        )
        for p in products
    ]
    all_digital = all(line.product.category in DIGITAL_CATEGORIES for line in lines)
    if status == "shipped" and all_digital:
        status = "delivered"  # downloads and e-mailed gift cards are never "in transit"
    timeline, paid_then_cancelled = _random_timeline(rng, status, all_digital)
    total = _totals(lines)[2]
    refunded = 0
    if status == "refunded" or paid_then_cancelled:
        refunded = total
    elif status == "partially_refunded":
        refunded = _partial_refund(rng, lines, total)
    plan = _OrderPlan(
        order_id, customer_id, status, currency, lines, timeline, refunded,
        refund_reason=rng.choice(_REFUND_REASONS),
        method=rng.choices(list(_METHOD_WEIGHTS), weights=list(_METHOD_WEIGHTS.values()))[0],
        failed_attempt=rng.random() < (0.3 if status == "pending" else 0.07),
    )  # fmt: skip
    _add_order(rows, plan)


def _random_timeline(rng: random.Random, status: str, all_digital: bool) -> tuple[_Timeline, bool]:
    """Timestamps that fit `status`, none after AS_OF; also whether a cancelled order had been paid."""
    minutes = timedelta(minutes=rng.uniform(1, 30))
    if status == "pending":
        return _Timeline(created=AS_OF - timedelta(days=rng.uniform(0.01, 3))), False
    if status == "paid":
        created = AS_OF - timedelta(days=rng.uniform(0.03, 4))
        return _Timeline(created=created, paid=created + minutes), False
    if status == "shipped":
        created = AS_OF - timedelta(days=rng.uniform(2, 9))
        return _Timeline(
            created=created, paid=created + minutes, shipped=created + timedelta(days=rng.uniform(0.5, 2))
        ), False
    if status == "cancelled":
        created = AS_OF - timedelta(days=rng.uniform(1, 365))
        cancelled = min(created + timedelta(hours=rng.uniform(0.2, 48)), AS_OF)
        was_paid = rng.random() < 0.4
        return _Timeline(
            created=created,
            paid=created + minutes if was_paid else None,
            cancelled=cancelled,
            refunded=cancelled if was_paid else None,
        ), was_paid
    created = AS_OF - timedelta(days=rng.uniform(10, 365))
    paid = created + minutes
    shipped = None if all_digital else created + timedelta(days=rng.uniform(0.5, 2))
    delivered = paid if shipped is None else shipped + timedelta(days=rng.uniform(2, 6))
    refunded = None
    if status != "delivered":
        refunded = min(delivered + timedelta(days=rng.uniform(1, 20)), AS_OF)
    return _Timeline(created=created, paid=paid, shipped=shipped, delivered=delivered, refunded=refunded), False


def _partial_refund(rng: random.Random, lines: list[_Line], total: int) -> int:
    """One returned line when there are several, otherwise a share of the total; always 0 < refund < total."""
    if len(lines) > 1:
        line = rng.choice(lines)
        amount = line.product.price_cents * line.quantity
    else:
        amount = round(total * rng.uniform(0.1, 0.5))
    return max(1, min(amount, total - 1))


def _totals(lines: list[_Line]) -> tuple[int, int, int]:
    """Subtotal, shipping and total in cents."""
    subtotal = sum(line.product.price_cents * line.quantity for line in lines)
    physical = any(line.product.category not in DIGITAL_CATEGORIES for line in lines)
    shipping = SHIPPING_CENTS if physical and subtotal < FREE_SHIPPING_FROM_CENTS else 0
    return subtotal, shipping, subtotal + shipping


def _add_order(rows: ShopRows, plan: _OrderPlan) -> None:
    subtotal, shipping, total = _totals(plan.lines)
    t, order_id, currency = plan.timeline, plan.order_id, plan.currency
    refunded = plan.refunded_cents
    if refunded and (refunded > total or t.paid is None or t.refunded is None):
        raise ValueError(f"order {order_id}: cannot refund {refunded} of {total} as timed: {t}")
    stamps = [None if m is None else to_iso(m) for m in (t.paid, t.shipped, t.delivered, t.cancelled)]
    updated = max(m for m in (t.created, t.paid, t.shipped, t.delivered, t.cancelled, t.refunded) if m)
    rows.orders.append(
        (order_id, plan.customer_id, plan.status, currency, subtotal, shipping, total, to_iso(t.created),
         *stamps, to_iso(updated))
    )  # fmt: skip
    for line in plan.lines:
        p = line.product
        item = (order_id, p.sku, p.name, p.category, line.quantity, p.price_cents, int(line.downloaded))
        rows.items.append((len(rows.items) + 1, *item))
    if plan.failed_attempt:
        attempt = to_iso(t.created + timedelta(minutes=1))
        rows.payments.append((len(rows.payments) + 1, order_id, "card", "failed", total, currency, attempt))
    if t.paid is not None:
        captured = (order_id, plan.method, "captured", total, currency, to_iso(t.paid))
        rows.payments.append((len(rows.payments) + 1, *captured))
    if refunded and t.refunded is not None:
        refund = (order_id, refunded, currency, plan.refund_reason, f"seed:{order_id}", to_iso(t.refunded))
        rows.refunds.append((len(rows.refunds) + 1, *refund))
