"""The refund path after the parallel lookups: a deterministic assessment, then the refund.

Eligibility and amounts are code. `issue_refund` is idempotent: its key is derived
from the thread, the user message being answered and the order, so a replayed or
retried step never refunds twice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from langchain_core.runnables import RunnableConfig

from nodes import templates
from nodes.deps import current_shop
from nodes.guard import latest_user_message
from nodes.state import SupportState, order_id_of
from shop.models import Order, OrderRefundPolicy, PaymentHistory
from shop.policy import assess_refund as assess


def _requested_cents(state: SupportState) -> int | None:
    amounts = state.get("entities", {}).get("amounts") or []
    return int(Decimal(amounts[0]) * 100) if amounts else None


async def assess_refund(state: SupportState) -> dict[str, Any]:
    """Reads `facts.{order,payments,policy}` and `entities.amounts`; writes `refund.assessment`,
    and `answer` when the refund is declined or the order is unknown."""
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
    update: dict[str, Any] = {"refund": {"assessment": assessment}}
    if not assessment["eligible"]:
        update["answer"] = templates.refund_declined(assessment)
    return update


def refund_key(state: SupportState, thread_id: str | None) -> str:
    message = latest_user_message(state.get("messages", []))
    return f"refund:{thread_id}:{message.id if message else '-'}:{order_id_of(state)}"


async def issue_refund(state: SupportState, config: RunnableConfig) -> dict[str, Any]:
    """Reads `refund.assessment`; writes `refund.receipt` and `answer`."""
    refund = state.get("refund") or {}
    assessment = refund["assessment"]
    receipt = await (await current_shop()).issue_refund(
        assessment["order_id"],
        assessment["amount_cents"],
        reason="customer request via support agent",
        idempotency_key=refund_key(state, config.get("configurable", {}).get("thread_id")),
    )
    data = receipt.model_dump(mode="json")
    return {"refund": {**refund, "receipt": data}, "answer": templates.refund_issued(data)}
