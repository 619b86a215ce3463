"""What the shop's tools return. Money is integer cents plus an ISO currency code; times are ISO-8601 strings.

Every model survives `model_dump(mode="json")` and back, so tool results can go into graph state and onto the
wire.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

OrderStatus = Literal["pending", "paid", "shipped", "delivered", "cancelled", "refunded", "partially_refunded"]

RefundReasonCode = Literal[
    "within_policy",
    "amount_capped",
    "order_cancelled",
    "not_delivered",
    "no_payment",
    "already_refunded",
    "non_refundable_category",
    "already_downloaded",
    "outside_window",
]
"""Stable codes explaining a refund assessment. `within_policy` and `amount_capped` are informational; the
others each make the order ineligible."""

CancellationCode = Literal["cancelled", "order_not_found", "already_cancelled", "already_shipped", "refunded"]


class ShopModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OrderItem(ShopModel):
    sku: str
    name: str
    category: str
    quantity: int
    unit_price_cents: int
    line_total_cents: int
    downloaded: bool


class Order(ShopModel):
    order_id: int
    customer_id: int
    customer_email: str
    customer_name: str
    status: OrderStatus
    currency: str
    items: list[OrderItem]
    subtotal_cents: int
    shipping_cents: int
    total_cents: int
    created_at: str
    paid_at: str | None
    shipped_at: str | None
    delivered_at: str | None
    cancelled_at: str | None
    updated_at: str

    @property
    def categories(self) -> list[str]:
        """Distinct item categories in first-seen order."""
        return list(dict.fromkeys(item.category for item in self.items))


class Payment(ShopModel):
    payment_id: int
    method: str
    status: Literal["captured", "failed"]
    amount_cents: int
    currency: str
    created_at: str


class Refund(ShopModel):
    refund_id: int
    amount_cents: int
    currency: str
    reason: str
    created_at: str


class PaymentHistory(ShopModel):
    """Payments and refunds of one order. `found` is False (and the lists empty) for an unknown order."""

    order_id: int
    found: bool
    currency: str | None
    payments: list[Payment]
    refunds: list[Refund]
    captured_cents: int
    refunded_cents: int
    balance_cents: int
    """Captured minus refunded: the most that can still be refunded."""


class RefundPolicy(ShopModel):
    category: str
    refundable: bool
    window_days: int | None
    """Days after delivery during which a refund is allowed; None when the category is not refundable."""
    requires_not_downloaded: bool
    """Only refundable while no item of this category has been downloaded (digital goods)."""
    rules: str


class OrderRefundPolicy(ShopModel):
    """The policy that governs a whole order: the strictest among its items' categories."""

    order_id: int
    policy: RefundPolicy
    categories: list[str]
    explanation: str


class RefundReason(ShopModel):
    code: RefundReasonCode
    message: str


class RefundAssessment(ShopModel):
    """Whether the shop's policy allows a refund now, and how much. Approval thresholds are not the shop's
    business.

    `within_policy` covers the policy rules alone (category, window, downloads); `eligible` also needs the
    order to be in a refundable state with money left to refund. `amount_cents` is 0 unless eligible.
    """

    order_id: int
    eligible: bool
    within_policy: bool
    amount_cents: int
    balance_cents: int
    currency: str
    policy_category: str
    reasons: list[RefundReason]
    as_of: str

    @property
    def reason_codes(self) -> list[str]:
        return [r.code for r in self.reasons]


class RefundReceipt(ShopModel):
    """A refund that exists. `created` is False when the idempotency key had already been used."""

    refund_id: int
    order_id: int
    amount_cents: int
    currency: str
    reason: str
    idempotency_key: str
    created_at: str
    created: bool
    order_status: OrderStatus
    refunded_cents: int
    balance_cents: int


class CancellationResult(ShopModel):
    """The outcome of a cancellation request; a refusal is a result with `cancelled=False`, not an error."""

    order_id: int
    cancelled: bool
    created: bool
    code: CancellationCode
    message: str
    status: OrderStatus | None
    refunded_cents: int
    currency: str | None
    """Currency of `refunded_cents`; None only when the order does not exist."""


class PasswordResetTicket(ShopModel):
    """The same shape whether or not the account exists, so it reveals nothing about who is a customer."""

    ticket_id: str
    masked_email: str
    message: str
    created_at: str
    expires_at: str
    created: bool


class KbArticle(ShopModel):
    article_id: int
    slug: str
    title: str
    body: str
    tags: list[str]
    score: float
    """Relevance from bm25, higher is better; only comparable within one search."""
