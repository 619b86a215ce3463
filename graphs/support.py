"""The support graph: guard -> route -> one path per intent -> respond.

guard -> route -(next_step)-> order_status | payment_history | refund_policy  (refund: parallel)
                              -> assess_refund -(after_assessment)-> issue_refund -> respond
                           -> lookup_order | cancel_order | password_reset | faq | handoff
                              | fallback | clarify -> respond -> END
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from nodes.actions import cancel_order, password_reset
from nodes.agent import agent
from nodes.agent_tools import ToolCallTask, agent_tool, refund_hand_off
from nodes.answers import clarify, faq, handoff
from nodes.approval import approval
from nodes.guard import guard
from nodes.lookups import lookup_order, order_status, payment_history, refund_policy
from nodes.refunds import assess_refund, issue_refund
from nodes.respond import respond
from nodes.route import route
from nodes.state import Context, SupportInput, SupportState
from routers.edges import NEXT_STEPS, REFUND_BRANCHES, after_agent, after_approval, after_assessment, next_step


def build(
    checkpointer: Any = None, store: Any = None
) -> CompiledStateGraph[SupportState, Context, SupportInput, SupportState]:
    g = StateGraph(SupportState, input_schema=SupportInput, context_schema=Context)
    g.add_node("guard", guard)
    g.add_node("route", route)
    for lookup in (order_status, payment_history, refund_policy):
        g.add_node(lookup)  # parallel branches of the refund path
    g.add_node("assess_refund", assess_refund)
    g.add_node("approval", approval)
    g.add_node("issue_refund", issue_refund)
    for path in (lookup_order, cancel_order, password_reset, faq, handoff, clarify):
        g.add_node(path)
    g.add_node("agent", agent)
    g.add_node("agent_tool", agent_tool, input_schema=ToolCallTask)
    g.add_node("refund_hand_off", refund_hand_off, input_schema=ToolCallTask, destinations=tuple(REFUND_BRANCHES))
    g.add_node("respond", respond)

    g.add_edge(START, "guard")
    g.add_edge("guard", "route")
    g.add_conditional_edges("route", next_step, NEXT_STEPS)
    g.add_edge(REFUND_BRANCHES, "assess_refund")
    g.add_conditional_edges("assess_refund", after_assessment, ["approval", "issue_refund", "respond"])
    g.add_conditional_edges("approval", after_approval, ["issue_refund", "respond"])
    g.add_edge("issue_refund", "respond")
    for name in ("lookup_order", "cancel_order", "password_reset", "faq", "handoff", "clarify"):
        g.add_edge(name, "respond")
    g.add_conditional_edges("agent", after_agent, ["agent_tool", "refund_hand_off", "respond"])
    g.add_edge("agent_tool", "agent")
    g.add_edge("respond", END)
    return g.compile(checkpointer=checkpointer, store=store, name="support")
