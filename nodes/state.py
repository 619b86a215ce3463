"""The support graph's state: what clients and evals read, and what nodes exchange."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from routers.entities import Entities
from routers.types import Decision

NO_USAGE: dict[str, Any] = {"prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0, "calls": 0}


def add_usage(current: dict[str, Any] | None, update: dict[str, Any] | None) -> dict[str, Any]:
    """LLM usage of this turn, summed over calls; `None` starts a new turn."""
    if update is None:
        return dict(NO_USAGE)
    base = current or NO_USAGE
    return {key: base.get(key, 0) + update.get(key, 0) for key in NO_USAGE}


def merge_facts(current: dict[str, Any] | None, update: dict[str, Any] | None) -> dict[str, Any]:
    """Parallel branches each add their own keys; `None` starts a new turn's facts."""
    if update is None:
        return {}
    return {**(current or {}), **update}


class SupportInput(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


class SupportState(TypedDict, total=False):
    """Public state. Each turn, `guard` resets the per-turn keys.

    - messages: the conversation (LangChain messages, `add_messages` reducer).
    - text: the normalised text of the latest user message.
    - entities: order ids, emails and amounts found in it.
    - route: the routing decision `{intent, tier, confidence, reason, entities}`.
    - order_id: the order the conversation is about (kept across turns for follow-ups).
    - facts: what the lookups found, merged from parallel branches.
    - refund: the assessment and, once issued, the receipt.
    - answer: the text given to the user (also appended to `messages`).
    - degraded: None, or `{rung, reason}` when a lower rung of the ladder answered.
    - usage: this turn's LLM tokens, estimated cost and call count.
    - agent_steps: LLM calls the agent has made this turn (bounded).
    - started_at: when this turn started (epoch seconds), for the run's deadline.
    """

    messages: Annotated[list[AnyMessage], add_messages]
    text: str
    entities: Entities
    route: Decision | None
    order_id: int | None
    email: str | None
    facts: Annotated[dict[str, Any], merge_facts]
    refund: dict[str, Any] | None
    answer: str | None
    degraded: dict[str, Any] | None
    usage: Annotated[dict[str, Any], add_usage]
    agent_steps: int
    started_at: float


@dataclass
class Context:
    """Per-run settings a client may pass as the run's `context`; None means the server's setting."""

    # Rephrase deterministic answers with the LLM (checked to keep every fact).
    responder: bool | None = None
    # Who waits first at the LLM gate: interactive before background before eval.
    priority: Literal["interactive", "background", "eval"] = "interactive"
    # Refunds above this (in the order's currency) wait for a human.
    refund_approval_limit: float | None = None


def order_id_of(state: SupportState) -> int:
    """The order under discussion. Paths that need one are only reached with one (see routers.edges)."""
    order_id = state.get("order_id")
    if order_id is None:
        raise ValueError("this path needs an order id; the router should have asked for one")
    return order_id
