"""Answers that need no side effect: FAQ, clarifying questions, handoff."""

from __future__ import annotations

from typing import Any

from nodes import templates
from nodes.deps import current_shop
from nodes.state import SupportState


async def faq(state: SupportState) -> dict[str, Any]:
    """Reads `text`; writes `facts.articles` and `answer` from the best knowledge-base article."""
    articles = [a.model_dump(mode="json") for a in await (await current_shop()).search_kb(state["text"], limit=3)]
    return {"facts": {"articles": articles}, "answer": templates.faq(articles)}


async def clarify(state: SupportState) -> dict[str, Any]:
    """Asks for what the intent needs and the message lacks (an order id, an email)."""
    route = state.get("route")
    intent = route["intent"] if route else ""
    question = templates.ask_email() if intent == "password_reset" else templates.ask_order_id(intent)
    return {"answer": question}


async def handoff(state: SupportState) -> dict[str, Any]:
    """Hands the conversation to a human; the routing reason says why."""
    route = state.get("route")
    reason = route["reason"] if route else "requested"
    return {"answer": templates.handoff(reason)}
