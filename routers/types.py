"""The routing vocabulary shared by every tier, the cascade and the support graph's `route` state key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, get_args

from typing_extensions import TypedDict

from routers.entities import Entities

Intent = Literal["order_status", "refund", "cancel_order", "password_reset", "faq", "handoff", "complex"]
Tier = Literal["rule", "classifier", "llm", "default"]

INTENTS: tuple[Intent, ...] = get_args(Intent)
# Intents whose conversation a bare "yes" or "and order 10003?" continues: they act on an order.
ORDER_INTENTS: frozenset[Intent] = frozenset({"order_status", "refund", "cancel_order"})


class Decision(TypedDict):
    """What a tier decided and why; stored as `route` in the support graph's state."""

    intent: Intent
    tier: Tier
    confidence: float  # 0..1; each tier's own scale, comparable only within a tier
    reason: str  # names the rule, the nearest examples, or the model's justification
    entities: Entities


@dataclass(frozen=True)
class Query:
    """One user turn, already normalised, with its entities extracted once for every tier."""

    text: str
    entities: Entities
    # The intent routed on the previous turn of the same conversation, so "yes" or "what about 10003"
    # can continue it.
    previous_intent: Intent | None = None


# Every tier has this signature: a decision, or None to let the next tier try.
TierFunction = Callable[[Query], Awaitable[Decision | None]]
