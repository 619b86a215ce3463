"""Conditional-edge functions of the support graph: from the routing decision to the next node(s)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from langchain_core.messages import AIMessage
from langgraph.types import Send

# The refund path's parallel lookups: one superstep, three tasks.
REFUND_BRANCHES = ["order_status", "payment_history", "refund_policy"]

Step = Literal["lookup_order", "cancel_order", "password_reset", "faq", "handoff", "agent", "clarify"]

_PATHS: dict[str, Step] = {
    "order_status": "lookup_order",
    "cancel_order": "cancel_order",
    "password_reset": "password_reset",
    "faq": "faq",
    "handoff": "handoff",
    "complex": "agent",
}
_NEEDS_ORDER = {"refund", "order_status", "cancel_order"}

# The agent's one routing tool: it moves no money, it sends the request down the refund path.
HAND_OFF = "hand_off_refund"

# Every node `next_step` may return, for drawing the graph.
NEXT_STEPS: list[str] = [*REFUND_BRANCHES, *sorted(set(_PATHS.values())), "clarify"]


def next_step(state: Mapping[str, Any]) -> Step | list[str]:
    """Reads `route.intent`, `order_id` and `email`. A missing entity means a clarifying question."""
    intent = state["route"]["intent"]
    if intent in _NEEDS_ORDER and not state.get("order_id"):
        return "clarify"
    if intent == "password_reset" and not state.get("email"):
        return "clarify"
    if intent == "refund":
        return list(REFUND_BRANCHES)
    return _PATHS[intent]


def after_assessment(state: Mapping[str, Any]) -> Literal["approval", "issue_refund", "respond"]:
    """The seam before money moves: a proposal waits for a human; an eligible assessment within
    the limit is refunded at once; anything else is declined."""
    refund = state.get("refund") or {}
    if refund.get("proposal"):
        return "approval"
    return "issue_refund" if refund.get("assessment", {}).get("eligible") else "respond"


def after_approval(state: Mapping[str, Any]) -> Literal["issue_refund", "respond"]:
    """Approved or edited: refund the approved amount. Rejected: say so."""
    return "issue_refund" if (state.get("refund") or {}).get("approved_cents") else "respond"


def after_agent(state: Mapping[str, Any]) -> list[Send] | Literal["respond"]:
    """Each tool call the agent made becomes its own task (parallel, checkpointed, retried);
    a refund hand-off pre-empts the rest. No tool calls: the agent has answered."""
    last = state["messages"][-1] if state.get("messages") else None
    calls = last.tool_calls if isinstance(last, AIMessage) else []
    if not calls:
        return "respond"
    hand_off = next((c for c in calls if c["name"] == HAND_OFF), None)
    if hand_off is not None:
        return [Send("refund_hand_off", {"call": hand_off, "calls": calls})]
    return [Send("agent_tool", {"call": call}) for call in calls]
