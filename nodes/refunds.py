"""The refund path after the parallel lookups: a deterministic assessment, approval when
needed, then the refund.

Eligibility and amounts are code. A refund above the approval limit, or one only the
policy refuses, waits for a human (`nodes.approval`). `issue_refund` is idempotent: its
key is derived from the thread, the user message being answered and the order (never
from the attempt), so a replayed, retried or resumed step never refunds twice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from infra.settings import get_settings
from nodes import templates
from nodes.deps import current_shop
from nodes.guard import latest_user_message
from nodes.state import Context, SupportState, order_id_of
from shop.errors import IdempotencyKeyReused, RefundExceedsBalance
from shop.models import Order, OrderRefundPolicy, PaymentHistory
from shop.policy import assess_refund as assess


def _requested_cents(state: SupportState) -> int | None:
    amounts = state.get("entities", {}).get("amounts") or []
    return int(Decimal(amounts[0]) * 100) if amounts else None


# Reasons only the policy gives: a human may overrule them. The others are facts (nothing paid,
# nothing left to refund, not delivered, cancelled) that no approval changes.
POLICY_REASONS = frozenset({"outside_window", "non_refundable_category", "already_downloaded"})


def approval_limit_cents(runtime: Runtime[Context]) -> int:
    chosen = runtime.context.refund_approval_limit if runtime.context else None
    limit = get_settings().refund_approval_limit if chosen is None else chosen
    return int(Decimal(str(limit)) * 100)


def needs_approval(assessment: dict[str, Any], limit_cents: int) -> str | None:
    """Why a human must decide, or None (refund at once, or decline)."""
    if assessment["eligible"]:
        if assessment["amount_cents"] > limit_cents:
            return f"above the approval limit of {Decimal(limit_cents) / 100:.2f} {assessment['currency']}"
        return None
    codes = {r["code"] for r in assessment["reasons"]}
    if codes and codes <= POLICY_REASONS and assessment["balance_cents"] > 0:
        return "outside policy: " + "; ".join(r["message"].rstrip(".") for r in assessment["reasons"])
    return None


async def assess_refund(state: SupportState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Reads `facts.{order,payments,policy}` and `entities.amounts`; writes `refund.assessment`,
    `refund.proposal` and `refund.approval_reason` when a human must decide, and `answer` when
    the refund is declined or the order is unknown."""
    facts = state.get("facts", {})
    if not facts.get("order"):
        return {"refund": None, "answer": templates.order_not_found(order_id_of(state))}
    shop = await current_shop()
    requested = _requested_cents(state)
    assessment = assess(
        Order.model_validate(facts["order"]),
        PaymentHistory.model_validate(facts["payments"]),
        OrderRefundPolicy.model_validate(facts["policy"]),
        as_of=shop.as_of(),
        requested_cents=requested if requested and requested > 0 else None,
    ).model_dump(mode="json")
    refund: dict[str, Any] = {"assessment": assessment}
    why = needs_approval(assessment, approval_limit_cents(runtime))
    if why is not None:
        proposed = assessment["amount_cents"] or min(
            requested or assessment["balance_cents"], assessment["balance_cents"]
        )
        refund["proposal"] = {
            "order_id": assessment["order_id"],
            "amount_cents": proposed,
            "currency": assessment["currency"],
            "reason": "customer request via support agent",
        }
        refund["approval_reason"] = why
        return {"refund": refund}
    if not assessment["eligible"]:
        return {"refund": refund, "answer": templates.refund_declined(assessment)}
    return {"refund": refund}


def refund_key(state: SupportState, thread_id: str | None) -> str:
    message = latest_user_message(state.get("messages", []))
    return f"refund:{thread_id}:{message.id if message else '-'}:{order_id_of(state)}"


async def issue_refund(state: SupportState, config: RunnableConfig) -> dict[str, Any]:
    """Reads `refund.assessment` and, after an approval, `refund.approved_cents`; writes
    `refund.receipt` and `answer`. The shop re-checks the balance in the same transaction,
    so an approval given tomorrow cannot refund money already refunded today."""
    refund = state.get("refund") or {}
    assessment = refund["assessment"]
    cents = refund.get("approved_cents") or assessment["amount_cents"]
    try:
        receipt = await (await current_shop()).issue_refund(
            assessment["order_id"],
            cents,
            reason="customer request via support agent",
            idempotency_key=refund_key(state, config.get("configurable", {}).get("thread_id")),
        )
    except (RefundExceedsBalance, IdempotencyKeyReused) as exc:
        return {
            "refund": {**refund, "error": exc.code},
            "answer": templates.refund_not_possible(assessment["order_id"]),
        }
    data = receipt.model_dump(mode="json")
    return {"refund": {**refund, "receipt": data}, "answer": templates.refund_issued(data)}
