"""Read-only lookups. The refund path runs the first three as parallel branches.

Each branch writes its own key of `facts`, so they merge without conflict.
"""

from __future__ import annotations

from typing import Any

from nodes import templates
from nodes.deps import current_shop
from nodes.state import SupportState, order_id_of


async def order_status(state: SupportState) -> dict[str, Any]:
    """Reads `order_id`; writes `facts.order` (None when there is no such order)."""
    order = await (await current_shop()).get_order(order_id_of(state))
    return {"facts": {"order": None if order is None else order.model_dump(mode="json")}}


async def payment_history(state: SupportState) -> dict[str, Any]:
    """Reads `order_id`; writes `facts.payments`."""
    history = await (await current_shop()).get_payment_history(order_id_of(state))
    return {"facts": {"payments": history.model_dump(mode="json")}}


async def refund_policy(state: SupportState) -> dict[str, Any]:
    """Reads `order_id`; writes `facts.policy`, the policy that governs that order."""
    policy = await (await current_shop()).get_order_refund_policy(order_id_of(state))
    return {"facts": {"policy": None if policy is None else policy.model_dump(mode="json")}}


async def lookup_order(state: SupportState) -> dict[str, Any]:
    """The order-status path. Reads `order_id`; writes `facts.order` and `answer`."""
    update = await order_status(state)
    order = update["facts"]["order"]
    answer = templates.order_status(order) if order else templates.order_not_found(order_id_of(state))
    return {**update, "answer": answer}
