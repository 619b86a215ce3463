"""Refund rules as pure functions: no I/O, so the graph, the evals and the tests all judge the same way."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from .catalog import to_iso
from .errors import InvalidRefundAmount
from .models import (
    Order,
    OrderRefundPolicy,
    PaymentHistory,
    RefundAssessment,
    RefundPolicy,
    RefundReason,
)


def format_money(cents: int, currency: str) -> str:
    """`7999, "USD"` -> `"79.99 USD"`; every currency the shop uses has two decimals."""
    return f"{cents // 100:,}.{cents % 100:02d} {currency}"


def _downloaded(order: Order, category: str) -> bool:
    return any(item.downloaded for item in order.items if item.category == category)


def strictest_policy(order: Order, policies: Mapping[str, RefundPolicy]) -> OrderRefundPolicy:
    """Choose the policy that governs `order`: the strictest among its item categories.

    Strictness: not refundable, then blocked by a download, then the shortest window; ties go to the category
    seen first. `policies` must hold every category of the order (KeyError otherwise).
    """
    categories = order.categories
    if not categories:
        raise ValueError(f"order {order.order_id} has no items")

    def leniency(category: str) -> tuple[bool, bool, int]:
        policy = policies[category]
        blocked = policy.requires_not_downloaded and _downloaded(order, category)
        return (policy.refundable, not blocked, policy.window_days or 0)

    chosen = policies[min(categories, key=leniency)]
    if len(categories) == 1:
        explanation = f"All items are {chosen.category}, so the {chosen.category} policy applies."
    else:
        explanation = (
            f"The order mixes {', '.join(categories)}; the strictest, {chosen.category}, applies to the whole order."
        )
    return OrderRefundPolicy(order_id=order.order_id, policy=chosen, categories=categories, explanation=explanation)


def _policy_reasons(order: Order, policy: RefundPolicy, as_of: datetime) -> list[RefundReason]:
    """Reasons the policy itself forbids a refund (category, downloads, window)."""
    if not policy.refundable:
        return [
            RefundReason(
                code="non_refundable_category",
                message=f"{policy.category} items are not refundable: {policy.rules}",
            )
        ]
    if policy.requires_not_downloaded and _downloaded(order, policy.category):
        return [
            RefundReason(
                code="already_downloaded",
                message=f"{policy.category} items can only be refunded before they are downloaded.",
            )
        ]
    if policy.window_days is not None and order.delivered_at is not None:
        delivered = datetime.fromisoformat(order.delivered_at)
        if as_of - delivered > timedelta(days=policy.window_days):
            days = (as_of - delivered).days
            return [
                RefundReason(
                    code="outside_window",
                    message=f"Delivered {days} days ago; the {policy.category} return window is "
                    f"{policy.window_days} days.",
                )
            ]
    return []


def _state_reasons(order: Order, history: PaymentHistory, balance: int) -> list[RefundReason]:
    """Reasons the order's state forbids a refund, whatever the policy says."""
    reasons: list[RefundReason] = []
    if order.status == "cancelled":
        reasons.append(RefundReason(code="order_cancelled", message="The order was cancelled."))
    elif order.delivered_at is None:
        reasons.append(
            RefundReason(code="not_delivered", message=f"The order is {order.status} and has not been delivered yet.")
        )
    if history.captured_cents == 0:
        reasons.append(RefundReason(code="no_payment", message="No payment was captured for this order."))
    elif balance == 0:
        reasons.append(
            RefundReason(
                code="already_refunded",
                message=f"{format_money(history.refunded_cents, order.currency)} was already refunded.",
            )
        )
    return reasons


def assess_refund(
    order: Order,
    history: PaymentHistory,
    policy: RefundPolicy | OrderRefundPolicy,
    *,
    as_of: datetime,
    requested_cents: int | None = None,
) -> RefundAssessment:
    """Judge a refund of `order` at the moment `as_of` (timezone-aware).

    The amount is the whole refundable balance (captured minus refunded), or `requested_cents` when that is
    smaller; a larger request is capped and says so with `amount_capped`. Raises `InvalidRefundAmount` for a
    request of zero or less, ValueError when `history` belongs to another order.
    """
    if history.order_id != order.order_id:
        raise ValueError(f"history of order {history.order_id} given for order {order.order_id}")
    if requested_cents is not None and requested_cents <= 0:
        raise InvalidRefundAmount(f"requested refund must be positive, got {requested_cents}")
    rules = policy.policy if isinstance(policy, OrderRefundPolicy) else policy

    balance = max(history.captured_cents - history.refunded_cents, 0)
    policy_reasons = _policy_reasons(order, rules, as_of)
    state_reasons = _state_reasons(order, history, balance)
    eligible = not policy_reasons and not state_reasons
    reasons = policy_reasons + state_reasons

    amount = 0
    if eligible:
        amount = balance if requested_cents is None else min(requested_cents, balance)
        refundable = format_money(amount, order.currency)
        remaining = format_money(balance, order.currency)
        message = f"Refundable under the {rules.category} policy: {refundable} of {remaining} remaining."
        reasons.append(RefundReason(code="within_policy", message=message))
        if requested_cents is not None and requested_cents > balance:
            reasons.append(
                RefundReason(
                    code="amount_capped",
                    message=f"Requested {format_money(requested_cents, order.currency)}, but only "
                    f"{format_money(balance, order.currency)} can still be refunded.",
                )
            )
    return RefundAssessment(
        order_id=order.order_id,
        eligible=eligible,
        within_policy=not policy_reasons,
        amount_cents=amount,
        balance_cents=balance,
        currency=order.currency,
        policy_category=rules.category,
        reasons=reasons,
        as_of=to_iso(as_of),
    )
