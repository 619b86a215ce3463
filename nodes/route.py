"""route: runs the routing cascade (rules, classifier, then the default)."""

from __future__ import annotations

from typing import Any

from nodes.state import SupportState
from routers.cascade import decide
from routers.types import Query


async def route(state: SupportState) -> dict[str, Any]:
    """Reads `text`, `entities` and the previous turn's `route`; writes `route`."""
    previous = state.get("route")
    query = Query(
        text=state.get("text", ""),
        entities=state["entities"],
        previous_intent=previous["intent"] if previous else None,
    )
    return {"route": await decide(query)}
