"""guard: the first node of every turn. Normalises and validates the user's message."""

from __future__ import annotations

import time
from typing import Any

from langchain_core.messages import AnyMessage, HumanMessage

from nodes.state import SupportState
from routers.entities import extract_entities
from routers.text import message_text, normalize

MAX_MESSAGE_CHARS = 4000


def latest_user_message(messages: list[AnyMessage]) -> HumanMessage | None:
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return message
    return None


async def guard(state: SupportState) -> dict[str, Any]:
    """Reads `messages`; writes `text`, `entities`, `order_id`, `email` and resets the
    per-turn keys (`facts`, `refund`, `answer`, `degraded`, `usage`, `agent_steps`, `started_at`).

    An order id or email from an earlier turn is kept when this message names none,
    so "yes, refund it" refers to the order already under discussion.
    """
    message = latest_user_message(state.get("messages", []))
    text = normalize(message_text(message.content)) if message else ""
    text = text[:MAX_MESSAGE_CHARS]
    entities = extract_entities(text)
    return {
        "text": text,
        "entities": entities,
        "order_id": entities["order_ids"][0] if entities["order_ids"] else state.get("order_id"),
        "email": entities["emails"][0] if entities["emails"] else state.get("email"),
        "facts": None,
        "refund": None,
        "answer": None,
        "degraded": None,
        "usage": None,
        "agent_steps": 0,
        "started_at": time.time(),
    }
