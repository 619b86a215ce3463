"""Static reference data of the demo shop: the frozen clock, the products and the refund policies.

Everything here is constant so that a seed number alone decides the database content.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

AS_OF = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)
"""The moment the demo shop is frozen at. Order ages and refund windows are measured from it, and writes are
stamped with it, so evals and tests give the same answers on any day they run."""


def to_iso(moment: datetime) -> str:
    """The one timestamp format of the shop: UTC, whole seconds, `Z` suffix (`2026-11-01T12:00:00Z`)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


CURRENCIES: tuple[tuple[str, int], ...] = (("USD", 80), ("EUR", 12), ("GBP", 8))
"""Currencies orders are placed in, with their weights in the random mix."""

FREE_SHIPPING_FROM_CENTS = 5000
SHIPPING_CENTS = 499


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    category: str
    price_cents: int


@dataclass(frozen=True)
class PolicyRow:
    """One row of the refund policy table; see `models.RefundPolicy` for the meaning of each field."""

    category: str
    refundable: bool
    window_days: int | None
    requires_not_downloaded: bool
    rules: str


POLICIES: tuple[PolicyRow, ...] = (
    PolicyRow(
        "electronics",
        True,
        30,
        False,
        "Returns accepted within 30 days of delivery in original packaging; defective items are "
        "covered by the warranty afterwards.",
    ),
    PolicyRow(
        "apparel",
        True,
        60,
        False,
        "Unworn items with tags attached can be returned within 60 days of delivery.",
    ),
    PolicyRow("home", True, 30, False, "Returns accepted within 30 days of delivery."),
    PolicyRow("books", True, 30, False, "Returns accepted within 30 days of delivery in resalable condition."),
    PolicyRow("toys", True, 30, False, "Unopened toys can be returned within 30 days of delivery."),
    PolicyRow("beauty", True, 14, False, "Unopened products only, within 14 days of delivery, for hygiene reasons."),
    PolicyRow(
        "digital",
        True,
        14,
        True,
        "Refundable within 14 days of purchase only if the item has not been downloaded or activated.",
    ),
    PolicyRow(
        "groceries",
        False,
        None,
        False,
        "Perishable goods cannot be returned. Damaged or spoiled deliveries are replaced through support.",
    ),
    PolicyRow("gift_cards", False, None, False, "Gift cards cannot be refunded or exchanged for cash."),
)

CATEGORIES: tuple[str, ...] = tuple(p.category for p in POLICIES)

# Shipping applies only to physical goods.
DIGITAL_CATEGORIES = frozenset({"digital", "gift_cards"})

PRODUCTS: tuple[Product, ...] = (
    Product("EL-EARBUDS", "Wireless earbuds", "electronics", 7999),
    Product("EL-SPEAKER", "Bluetooth speaker", "electronics", 4999),
    Product("EL-CHARGER", "USB-C fast charger", "electronics", 1999),
    Product("EL-CABLE", "Braided USB-C cable", "electronics", 899),
    Product("EL-MONITOR", "27-inch 4K monitor", "electronics", 32900),
    Product("EL-PHONE", "Smartphone 128 GB", "electronics", 79900),
    Product("EL-LAPTOP", "Ultrabook laptop 14-inch", "electronics", 124900),
    Product("EL-CAMERA", "Mirrorless camera kit", "electronics", 189900),
    Product("AP-TSHIRT", "Organic cotton T-shirt", "apparel", 1800),
    Product("AP-SOCKS", "Merino socks, 3 pairs", "apparel", 1200),
    Product("AP-HOODIE", "Zip hoodie", "apparel", 4900),
    Product("AP-JEANS", "Slim-fit jeans", "apparel", 6900),
    Product("AP-SHOES", "Running shoes", "apparel", 11900),
    Product("AP-JACKET", "Waterproof rain jacket", "apparel", 12900),
    Product("HO-MUGS", "Stoneware mug set", "home", 2400),
    Product("HO-LAMP", "LED desk lamp", "home", 3900),
    Product("HO-KNIFE", "Chef's knife 20 cm", "home", 8900),
    Product("HO-BEDDING", "Linen bedding set", "home", 15900),
    Product("HO-VACUUM", "Cordless vacuum cleaner", "home", 39900),
    Product("BK-PAPERBACK", "Paperback novel", "books", 1299),
    Product("BK-HARDCOVER", "Hardcover biography", "books", 2899),
    Product("BK-COOKBOOK", "Seasonal cookbook", "books", 3499),
    Product("TY-PUZZLE", "1000-piece puzzle", "toys", 1999),
    Product("TY-BOARDGAME", "Strategy board game", "toys", 3499),
    Product("TY-BRICKS", "Building bricks set", "toys", 5999),
    Product("BE-LIPBALM", "Lip balm", "beauty", 499),
    Product("BE-SERUM", "Vitamin C face serum", "beauty", 3800),
    Product("BE-DRYER", "Ionic hair dryer", "beauty", 9900),
    Product("GR-COFFEE", "Whole coffee beans 1 kg", "groceries", 1499),
    Product("GR-OLIVEOIL", "Extra virgin olive oil 1 l", "groceries", 1899),
    Product("GR-SNACKBOX", "Snack box", "groceries", 2999),
    Product("GR-FRUITBOX", "Fresh fruit box", "groceries", 3499),
    Product("DG-EBOOK", "E-book", "digital", 999),
    Product("DG-ALBUM", "Music album download", "digital", 1099),
    Product("DG-GAME", "Video game download", "digital", 5999),
    Product("DG-SOFTWARE", "Photo editor licence", "digital", 14900),
    Product("GC-25", "Gift card 25", "gift_cards", 2500),
    Product("GC-100", "Gift card 100", "gift_cards", 10000),
)

PRODUCTS_BY_SKU: dict[str, Product] = {p.sku: p for p in PRODUCTS}
