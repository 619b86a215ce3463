"""Read-only lookups. The refund path runs the first three as parallel branches.

Each branch writes its own key of `facts`, so they merge without conflict.
"""

from __future__ import annotations

from typing import Any

from nodes import templates
from nodes.deps import current_shop


async def order_status(state: dict[str, Any]) -> dict[str, Any]:
    """Reads `order_id`; writes `facts.order` (None when there is no such order)."""
    order = await (await current_shop()).get_order(state["order_id"])
    return {"facts": {"order": None if order is None else order.model_dump(mode="json")}}


async def payment_history(state: dict[str, Any]) -> dict[str, Any]:
    """Reads `order_id`; writes `facts.payments`."""
    history = await (await current_shop()).get_payment_history(state["order_id"])
    return {"facts": {"payments": history.model_dump(mode="json")}}


async def refund_policy(state: dict[str, Any]) -> dict[str, Any]:
    """Reads `order_id`; writes `facts.policy`, the policy that governs that order."""
    policy = await (await current_shop()).get_order_refund_policy(state["order_id"])
    return {"facts": {"policy": None if policy is None else policy.model_dump(mode="json")}}


async def lookup_order(state: dict[str, Any]) -> dict[str, Any]:
    """The order-status path. Reads `order_id`; writes `facts.order` and `answer`."""
    update = await order_status(state)
    order = update["facts"]["order"]
    answer = templates.order_status(order) if order else templates.order_not_found(state["order_id"])
    return {**update, "answer": answer}
