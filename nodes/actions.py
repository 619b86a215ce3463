"""Account and order actions with side effects, each idempotent per user message."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig

from nodes import templates
from nodes.deps import current_shop
from nodes.guard import latest_user_message
from nodes.state import SupportState, order_id_of


def action_key(action: str, state: SupportState, config: RunnableConfig) -> str:
    """Thread + the user message being answered: a replayed step reuses the key."""
    message = latest_user_message(state.get("messages", []))
    thread_id = config.get("configurable", {}).get("thread_id")
    return f"{action}:{thread_id}:{message.id if message else '-'}"


async def cancel_order(state: SupportState, config: RunnableConfig) -> dict[str, Any]:
    """Reads `order_id`; writes `facts.cancellation` and `answer`."""
    result = await (await current_shop()).cancel_order(order_id_of(state), action_key("cancel", state, config))
    data = result.model_dump(mode="json")
    if result.code == "order_not_found":
        return {"facts": {"cancellation": data}, "answer": templates.order_not_found(order_id_of(state))}
    return {"facts": {"cancellation": data}, "answer": templates.cancellation(data)}


async def password_reset(state: SupportState, config: RunnableConfig) -> dict[str, Any]:
    """Reads `email`; writes `facts.password_reset` and `answer`. Never reveals whether the account exists."""
    ticket = await (await current_shop()).start_password_reset(
        state.get("email") or "", action_key("reset", state, config)
    )
    data = ticket.model_dump(mode="json")
    return {"facts": {"password_reset": data}, "answer": templates.password_reset(data)}
