"""respond: the last node of every turn. Appends the answer as an AI message, so chat UIs show it."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from langchain_core.messages import AIMessage

from nodes.state import SupportState


async def respond(state: SupportState) -> dict[str, Any]:
    """Reads `answer`; writes `messages` (one AI message). A missing answer is a bug
    upstream, so the ladder's last rung answers and `degraded` records it."""
    answer = state.get("answer")
    if answer:
        return {"messages": [AIMessage(content=answer, id=str(uuid4()))]}
    text = "Sorry, I couldn't complete that. A human agent will pick up this conversation."
    return {
        "answer": text,
        "messages": [AIMessage(content=text, id=str(uuid4()))],
        "degraded": {"rung": "human_handoff", "reason": "no answer was produced"},
    }
