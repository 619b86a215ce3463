"""Domain errors of the shop. Each has a stable `code` that the API puts in its 4xx body."""

from __future__ import annotations


class ShopError(Exception):
    """Base class; `code` is stable, the message is for humans and may change."""

    code: str = "shop_error"


class ShopNotSeeded(ShopError):
    code = "shop_not_seeded"


class OrderNotFound(ShopError):
    code = "order_not_found"

    def __init__(self, order_id: int) -> None:
        super().__init__(f"order {order_id} does not exist")
        self.order_id = order_id


class UnknownCategory(ShopError):
    code = "unknown_category"

    def __init__(self, category: str) -> None:
        super().__init__(f"no refund policy for category {category!r}")
        self.category = category


class InvalidRefundAmount(ShopError):
    code = "invalid_refund_amount"


class RefundExceedsBalance(ShopError):
    """The refund would take more than was captured minus what was already refunded."""

    code = "refund_exceeds_balance"

    def __init__(self, order_id: int, requested_cents: int, balance_cents: int) -> None:
        super().__init__(
            f"refund of {requested_cents} cents on order {order_id} exceeds the refundable balance "
            f"of {balance_cents} cents"
        )
        self.order_id = order_id
        self.requested_cents = requested_cents
        self.balance_cents = balance_cents


class IdempotencyKeyReused(ShopError):
    """The key was already used for a different request; replaying it must not change what it did."""

    code = "idempotency_key_reused"


class InvalidEmail(ShopError):
    code = "invalid_email"
