"""What the agent may use: the shop's READ-ONLY tools, and a hand-off to the refund desk.

Money-moving tools (`issue_refund`, `cancel_order`) are never offered to the LLM. A
refund the agent identifies goes to the deterministic refund path, where eligibility,
amounts and approval are code (`hand_off_refund` moves no money; it only routes).
"""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, tool
from langgraph.types import Command
from typing_extensions import TypedDict

from infra.jsonwire import dumps_str
from infra.settings import get_settings
from nodes.deps import current_shop
from routers.edges import HAND_OFF, REFUND_BRANCHES
from routers.entities import empty_entities


@tool
async def get_order(order_id: int) -> dict[str, Any] | str:
    """Look up an order by its number: status, items, totals and dates."""
    order = await (await current_shop()).get_order(order_id)
    return order.model_dump(mode="json") if order else f"No order #{order_id} exists."


@tool
async def get_payment_history(order_id: int) -> dict[str, Any]:
    """Payments and refunds of an order so far, with captured, refunded and refundable totals."""
    return (await (await current_shop()).get_payment_history(order_id)).model_dump(mode="json")


@tool
async def get_refund_policy(order_id: int) -> dict[str, Any] | str:
    """The refund policy that applies to an order (return window, rules)."""
    policy = await (await current_shop()).get_order_refund_policy(order_id)
    return policy.model_dump(mode="json") if policy else f"No order #{order_id} exists."


@tool
async def search_kb(query: str) -> list[dict[str, Any]]:
    """Search the store's help articles (shipping, returns, payments, accounts, warranty)."""
    articles = await (await current_shop()).search_kb(query, limit=3)
    return [{"title": a.title, "body": a.body} for a in articles]


@tool(HAND_OFF)
def hand_off_refund(order_id: int, reason: str) -> str:
    """Hand a refund request for an order to the refund desk, which checks eligibility and the amount.
    Use it whenever the customer wants money back; never promise a refund yourself."""
    return f"Refund request for order #{order_id} handed to the refund desk."


READ_ONLY_TOOLS: list[BaseTool] = [get_order, get_payment_history, get_refund_policy, search_kb]
AGENT_TOOLS: list[BaseTool] = [*READ_ONLY_TOOLS, hand_off_refund]
_BY_NAME = {t.name: t for t in AGENT_TOOLS}


async def run_tool_call(call: dict[str, Any]) -> ToolMessage:
    """One tool call, bounded by the per-tool timeout; failures become a tool message the agent reads."""
    found = _BY_NAME.get(call["name"])
    if found is None:
        return ToolMessage(f"Unknown tool {call['name']!r}.", tool_call_id=call["id"], status="error")
    try:
        result = await asyncio.wait_for(found.ainvoke(call["args"]), get_settings().tool_timeout_s)
    except TimeoutError:
        return ToolMessage(f"{call['name']} timed out.", tool_call_id=call["id"], status="error")
    except (ValueError, TypeError) as exc:  # arguments the schema rejected
        return ToolMessage(
            f"{call['name']} rejected its arguments: {type(exc).__name__}.",
            tool_call_id=call["id"],
            status="error",
        )
    return ToolMessage(result if isinstance(result, str) else dumps_str(result), tool_call_id=call["id"])


class ToolCallTask(TypedDict, total=False):
    """What `routers.edges.after_agent` sends to a tool task: its call (and, for a hand-off, all calls)."""

    call: dict[str, Any]
    calls: list[dict[str, Any]]


async def agent_tool(state: ToolCallTask) -> dict[str, Any]:
    """One tool call of the agent, sent as its own task (`Send`), so calls run in parallel."""
    return {"messages": [await run_tool_call(state["call"])]}


async def refund_hand_off(state: ToolCallTask) -> Command[str]:
    """The agent asked for a refund: answer every pending tool call, then take the refund path."""
    handed = state["call"]
    order_id = int(handed["args"]["order_id"])
    replies = [
        ToolMessage(
            hand_off_refund.invoke(handed["args"])
            if call["id"] == handed["id"]
            else "Not run: the refund desk took over.",
            tool_call_id=call["id"],
        )
        for call in state["calls"]
    ]
    entities = {**empty_entities(), "order_ids": [order_id]}
    route = {
        "intent": "refund",
        "tier": "llm",
        "confidence": 1.0,
        "reason": f"agent handed a refund of order #{order_id} to the refund desk",
        "entities": entities,
    }
    return Command(goto=list(REFUND_BRANCHES), update={"messages": replies, "order_id": order_id, "route": route})
