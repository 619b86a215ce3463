"""route: runs the routing cascade (rules, classifier, then the LLM tier, then the default)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from infra.llm.service import LlmResult
from infra.settings import get_settings
from nodes.deps import current_llm
from nodes.ladder import report_gate_wait
from nodes.limits import deadline
from nodes.state import NO_USAGE, Context, SupportState, add_usage
from routers.cascade import DEFAULT_TIERS, decide
from routers.llm_tier import llm_tier
from routers.types import Query, TierFunction


async def route(state: SupportState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Reads `text`, `entities` and the previous turn's `route`; writes `route` (and `usage`
    when the LLM tier was asked)."""
    previous = state.get("route")
    query = Query(
        text=state.get("text", ""),
        entities=state["entities"],
        previous_intent=previous["intent"] if previous else None,
    )
    settings = get_settings()
    calls: list[LlmResult] = []
    tiers: tuple[TierFunction, ...] = DEFAULT_TIERS
    if settings.llm_router:
        priority = runtime.context.priority if runtime.context else "interactive"
        tiers = (
            *DEFAULT_TIERS,
            llm_tier(
                await current_llm(),
                priority=priority,
                deadline=deadline(state, settings),
                on_result=calls.append,
            ),
        )
    update: dict[str, Any] = {"route": await decide(query, tiers)}
    if calls:
        usage = dict(NO_USAGE)
        for call in calls:
            usage = add_usage(usage, call.usage)
            report_gate_wait("router", call.waited_s)
        update["usage"] = usage
    return update
