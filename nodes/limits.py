"""Per-run bounds on LLM use: the run's deadline and its token, cost and iteration budget."""

from __future__ import annotations

import time

from infra.settings import Settings
from nodes.state import SupportState


def deadline(state: SupportState, settings: Settings) -> float:
    """The run's deadline on the monotonic clock (each turn records its start in wall time)."""
    started = state.get("started_at") or time.time()
    return time.monotonic() + max(0.0, started + settings.run_deadline_s - time.time())


def over_budget(state: SupportState, settings: Settings) -> str | None:
    """Why the agent may not call the LLM again this turn, or None."""
    usage = state.get("usage") or {}
    if usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0) >= settings.run_token_budget:
        return f"token budget of {settings.run_token_budget} reached"
    if usage.get("cost_usd", 0.0) >= settings.run_cost_budget_usd:
        return f"cost budget of ${settings.run_cost_budget_usd:.2f} reached"
    if state.get("agent_steps", 0) >= settings.agent_max_iterations:
        return f"agent iteration limit of {settings.agent_max_iterations} reached"
    return None
