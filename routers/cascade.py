"""The routing cascade: tiers tried in order, the first decision wins, and a default when none answers."""

from __future__ import annotations

from collections.abc import Sequence

from routers.classifier import classifier_tier
from routers.entities import extract_entities
from routers.rules import rule_tier
from routers.text import message_text, normalize
from routers.types import Decision, Intent, Query, TierFunction

# The LLM tier, when it exists, is appended by whoever builds the graph: it needs a client this package
# must not construct at import time.
DEFAULT_TIERS: tuple[TierFunction, ...] = (rule_tier, classifier_tier)


def make_query(content: object, previous_intent: Intent | None = None) -> Query:
    """Build a Query from a message `content` (string or content blocks): normalised text, entities once."""
    text = normalize(message_text(content))
    return Query(text=text, entities=extract_entities(text), previous_intent=previous_intent)


async def decide(query: Query, tiers: Sequence[TierFunction] = DEFAULT_TIERS) -> Decision:
    """The first tier's decision, or `complex` from the `default` tier when no tier answers."""
    for tier in tiers:
        decision = await tier(query)
        if decision is not None:
            return decision
    return {
        "intent": "complex",
        "tier": "default",
        "confidence": 0.0,
        "reason": "no tier matched",
        "entities": query.entities,
    }
