"""Orders with known ids and known behaviour, for tests, evals and docs.

Every seed, whatever its number, contains these orders exactly as described; all other orders are random.
Ages are measured back from `catalog.AS_OF` (2026-11-01T12:00:00Z). All belong to `FIXTURE_CUSTOMER_EMAIL`.
"""

from __future__ import annotations

from dataclasses import dataclass

FIXTURE_CUSTOMER_ID = 1
FIXTURE_CUSTOMER_EMAIL = "alex.morgan@example.com"
"""An existing account (customer 1) that owns every fixture order; use it for password-reset cases."""

UNKNOWN_EMAIL = "nobody@example.invalid"
"""An address no customer has."""

PENDING_ORDER = 10001
"""Pending (awaiting payment), placed 1 day ago, a hoodie for 53.99 USD with shipping. No payment;
cancellable."""

REFUNDABLE_ORDER = 10002
"""Delivered 10 days ago, wireless earbuds (electronics, 30-day window), 79.99 USD captured, nothing refunded:
fully refundable and under 100.00."""

LARGE_REFUNDABLE_ORDER = 10003
"""Delivered 5 days ago, a laptop (electronics) for 1,249.00 USD: refundable within policy, above 100.00."""

OUTSIDE_WINDOW_ORDER = 10004
"""Delivered 75 days ago, a Bluetooth speaker (electronics), 54.98 USD with shipping: outside the 30-day
window."""

SHIPPED_ORDER = 10005
"""Shipped 2 days ago, not yet delivered, a 4K monitor for 329.00 USD: not refundable yet, not cancellable."""

PAID_ORDER = 10006
"""Paid 3 hours ago, not shipped, a board game for 34.99 USD (plus 4.99 shipping): cancellable, and
cancelling refunds the captured 39.98."""

CANCELLED_ORDER = 10007
"""Cancelled 20 days ago before payment (a puzzle, 24.98 USD with shipping): no payment, nothing to refund."""

REFUNDED_ORDER = 10008
"""Delivered 20 days ago, running shoes for 119.00 USD, already fully refunded."""

PARTIALLY_REFUNDED_ORDER = 10009
"""Delivered 12 days ago, a rain jacket and a T-shirt (apparel) for 147.00 USD, 18.00 already refunded:
129.00 is still refundable."""

NON_REFUNDABLE_ORDER = 10010
"""Delivered 3 days ago, coffee beans and olive oil (groceries), 38.97 USD with shipping: non-refundable
category."""

DOWNLOADED_DIGITAL_ORDER = 10011
"""Delivered 2 days ago, a video game download for 59.99 USD, already downloaded: not refundable."""

UNDOWNLOADED_DIGITAL_ORDER = 10012
"""Delivered 3 days ago, an e-book for 9.99 USD, never downloaded: refundable (14-day digital window)."""

APPAREL_GBP_ORDER = 10013
"""Delivered 45 days ago, jeans and a hoodie for 118.00 GBP: inside the 60-day apparel window although it
would be outside the 30-day electronics one."""

MIXED_CATEGORY_ORDER = 10014
"""Delivered 40 days ago, a charger (electronics, 30 days) and a T-shirt (apparel, 60 days) for 42.98 EUR
(with shipping): the stricter electronics policy applies, so it is outside the window."""

UNKNOWN_ORDER = 99999999
"""An order id that never exists."""


@dataclass(frozen=True)
class FixtureOrder:
    """How the seed builds one fixture order. Days count back from `AS_OF`; None means "never happened"."""

    order_id: int
    status: str
    skus: tuple[str, ...]
    placed_days_ago: float
    currency: str = "USD"
    shipped_days_ago: float | None = None
    delivered_days_ago: float | None = None
    cancelled_days_ago: float | None = None
    refunded_cents: int = 0
    downloaded: bool = False


FIXTURE_ORDERS: tuple[FixtureOrder, ...] = (
    FixtureOrder(PENDING_ORDER, "pending", ("AP-HOODIE",), placed_days_ago=1),
    FixtureOrder(REFUNDABLE_ORDER, "delivered", ("EL-EARBUDS",), 15, shipped_days_ago=13, delivered_days_ago=10),
    FixtureOrder(LARGE_REFUNDABLE_ORDER, "delivered", ("EL-LAPTOP",), 9, shipped_days_ago=8, delivered_days_ago=5),
    FixtureOrder(OUTSIDE_WINDOW_ORDER, "delivered", ("EL-SPEAKER",), 80, shipped_days_ago=78, delivered_days_ago=75),
    FixtureOrder(SHIPPED_ORDER, "shipped", ("EL-MONITOR",), 3, shipped_days_ago=2),
    FixtureOrder(PAID_ORDER, "paid", ("TY-BOARDGAME",), placed_days_ago=0.125),
    FixtureOrder(CANCELLED_ORDER, "cancelled", ("TY-PUZZLE",), 21, cancelled_days_ago=20),
    FixtureOrder(
        REFUNDED_ORDER,
        "refunded",
        ("AP-SHOES",),
        25,
        shipped_days_ago=23,
        delivered_days_ago=20,
        refunded_cents=11900,
    ),
    FixtureOrder(
        PARTIALLY_REFUNDED_ORDER,
        "partially_refunded",
        ("AP-JACKET", "AP-TSHIRT"),
        16,
        shipped_days_ago=14,
        delivered_days_ago=12,
        refunded_cents=1800,
    ),
    FixtureOrder(
        NON_REFUNDABLE_ORDER,
        "delivered",
        ("GR-COFFEE", "GR-OLIVEOIL"),
        5,
        shipped_days_ago=4,
        delivered_days_ago=3,
    ),
    FixtureOrder(DOWNLOADED_DIGITAL_ORDER, "delivered", ("DG-GAME",), 2, delivered_days_ago=2, downloaded=True),
    FixtureOrder(UNDOWNLOADED_DIGITAL_ORDER, "delivered", ("DG-EBOOK",), 3, delivered_days_ago=3),
    FixtureOrder(
        APPAREL_GBP_ORDER,
        "delivered",
        ("AP-JEANS", "AP-HOODIE"),
        50,
        currency="GBP",
        shipped_days_ago=48,
        delivered_days_ago=45,
    ),
    FixtureOrder(
        MIXED_CATEGORY_ORDER,
        "delivered",
        ("EL-CHARGER", "AP-TSHIRT"),
        44,
        currency="EUR",
        shipped_days_ago=43,
        delivered_days_ago=40,
    ),
)
