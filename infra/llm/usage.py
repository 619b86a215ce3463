"""LLM usage and cost, and the per-run budget that bounds them.

Prices are USD per 1,000 tokens as (prompt, completion), keyed by model name. A dated
model name ("gpt-4o-mini-2024-07-18") is priced by the longest known prefix. A model
with no price costs 0.0 but is listed in `Usage.unpriced_models`, so a missing price
shows up in the usage instead of passing as free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.llm.retry import LlmUnavailable

Prices = Mapping[str, tuple[float, float]]


def find_price(model: str, prices: Prices) -> tuple[float, float] | None:
    """The model's (prompt, completion) price: by exact name, else by the longest known prefix."""
    if model in prices:
        return prices[model]
    prefixes = [known for known in prices if model.startswith(known)]
    return prices[max(prefixes, key=len)] if prefixes else None


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int, prices: Prices) -> float:
    """What a call cost; 0.0 for an unpriced model (check with `find_price`)."""
    price = find_price(model, prices)
    if price is None:
        return 0.0
    prompt_per_1k, completion_per_1k = price
    return (prompt_tokens * prompt_per_1k + completion_tokens * completion_per_1k) / 1000.0


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    unpriced_models: frozenset[str] = frozenset()

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
            calls=self.calls + other.calls,
            unpriced_models=self.unpriced_models | other.unpriced_models,
        )

    def as_dict(self) -> dict[str, int | float]:
        """The numeric fields, as kept in graph state (`usage`)."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": self.cost_usd,
            "calls": self.calls,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Usage:
        data = data or {}
        return cls(
            prompt_tokens=int(data.get("prompt_tokens", 0)),
            completion_tokens=int(data.get("completion_tokens", 0)),
            cost_usd=float(data.get("cost_usd", 0.0)),
            calls=int(data.get("calls", 0)),
        )


def usage_of_call(model: str, prompt_tokens: int, completion_tokens: int, prices: Prices) -> Usage:
    priced = find_price(model, prices) is not None
    return Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_usd=cost_usd(model, prompt_tokens, completion_tokens, prices),
        calls=1,
        unpriced_models=frozenset() if priced else frozenset({model}),
    )


def usage_from_message(message: Any, prices: Prices | None = None, model: str | None = None) -> Usage:
    """One call's usage from a LangChain AI message's `usage_metadata` (input/output tokens).

    The model defaults to the name the endpoint reported (`response_metadata["model_name"]`).
    Without `prices` the cost is left at 0.0 and the model is not marked unpriced. A message
    without usage metadata (some endpoints send none when streaming) counts as a call of 0 tokens.
    """
    metadata = getattr(message, "usage_metadata", None) or {}
    prompt_tokens = int(metadata.get("input_tokens", 0))
    completion_tokens = int(metadata.get("output_tokens", 0))
    if prices is None:
        return Usage(prompt_tokens, completion_tokens, 0.0, calls=1)
    response_metadata = getattr(message, "response_metadata", None) or {}
    name = model or str(response_metadata.get("model_name") or response_metadata.get("model") or "unknown")
    return usage_of_call(name, prompt_tokens, completion_tokens, prices)


class BudgetExceeded(LlmUnavailable):
    """A run has spent its LLM budget; further LLM calls are refused and the ladder answers."""

    code = "llm_budget_exceeded"

    def __init__(self, limit: str, spent: float, allowed: float) -> None:
        reason = f"LLM budget exceeded: {limit} {spent:g} of {allowed:g}"
        super().__init__(reason, self.code, attempts=0, last_error="none")
        self.limit = limit  # "tokens" or "cost_usd"
        self.spent = spent
        self.allowed = allowed


@dataclass(frozen=True)
class Remaining:
    tokens: int | None  # None: no limit
    cost_usd: float | None


@dataclass(frozen=True)
class Budget:
    """Limits per run. Stateless: what was spent lives in the (checkpointed) run state and is
    passed in, so a resumed run keeps its spending. None means no limit."""

    max_tokens: int | None
    max_cost_usd: float | None

    def check(self, usage: Usage, *, next_tokens: int = 0) -> None:
        """Raise `BudgetExceeded` if `usage` (plus an estimate of the next call) is over a limit."""
        tokens = usage.total_tokens + next_tokens
        if self.max_tokens is not None and tokens > self.max_tokens:
            raise BudgetExceeded("tokens", tokens, self.max_tokens)
        if self.max_cost_usd is not None and usage.cost_usd > self.max_cost_usd:
            raise BudgetExceeded("cost_usd", usage.cost_usd, self.max_cost_usd)

    def remaining(self, usage: Usage) -> Remaining:
        return Remaining(
            tokens=None if self.max_tokens is None else max(0, self.max_tokens - usage.total_tokens),
            cost_usd=None if self.max_cost_usd is None else max(0.0, self.max_cost_usd - usage.cost_usd),
        )
