"""The reference business: a demo online store over SQLite, and the tools a support agent uses on it."""

from .errors import (
    IdempotencyKeyReused,
    InvalidEmail,
    InvalidRefundAmount,
    OrderNotFound,
    RefundExceedsBalance,
    ShopError,
    ShopNotSeeded,
    UnknownCategory,
)
from .models import (
    CancellationResult,
    KbArticle,
    Order,
    OrderItem,
    OrderRefundPolicy,
    PasswordResetTicket,
    Payment,
    PaymentHistory,
    Refund,
    RefundAssessment,
    RefundPolicy,
    RefundReason,
    RefundReceipt,
)
from .policy import assess_refund, strictest_policy
from .seed import SeedSummary, has_shop, seed_database
from .tools import FIELD_LATENCY, TOOL_NAMES, Shop

__all__ = [
    "FIELD_LATENCY",
    "TOOL_NAMES",
    "CancellationResult",
    "IdempotencyKeyReused",
    "InvalidEmail",
    "InvalidRefundAmount",
    "KbArticle",
    "Order",
    "OrderItem",
    "OrderNotFound",
    "OrderRefundPolicy",
    "PasswordResetTicket",
    "Payment",
    "PaymentHistory",
    "Refund",
    "RefundAssessment",
    "RefundExceedsBalance",
    "RefundPolicy",
    "RefundReason",
    "RefundReceipt",
    "SeedSummary",
    "Shop",
    "ShopError",
    "ShopNotSeeded",
    "UnknownCategory",
    "assess_refund",
    "has_shop",
    "seed_database",
    "strictest_policy",
]
