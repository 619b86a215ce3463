"""The questions of the LLM-path benchmark, and how to tell that each took the path it was meant to.

Rule-routable questions are answered by the rule (or classifier) tier without an LLM call; complex
questions reach the agent. Phrasings are varied, and each names an order of its own, so the LLM
router's response cache (keyed by the text) never answers a complex question for free.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["rule", "complex"]

# {o}: an order id, {o2}: a second one, {email}: a customer's address. Refunds get a refundable order.
RULE_PHRASES: dict[str, tuple[str, ...]] = {
    "order_status": (
        "Where is my order #{o}?",
        "Has my order #{o} shipped yet?",
        "track order {o}",
        "When will order #{o} arrive?",
        "my package hasnt arrived order {o}",
    ),
    "faq": (
        "What is your return policy?",
        "Do you ship internationally?",
        "What payment methods do you accept?",
        "How long does shipping take?",
        "what are your opening hours",
        "Do you sell gift cards?",
    ),
    "password_reset": ("I forgot my password, my email is {email}", "I can't log in, my email is {email}"),
    "cancel_order": ("Please cancel order #{o}", "Cancel order #{o}"),
    "handoff": ("I want to talk to a human", "This is unacceptable, get me a manager"),
    "refund": ("I want a refund for order #{o}", "Please refund order #{o}, it arrived broken"),
}
COMPLEX_PHRASES: tuple[str, ...] = (
    "Which items did I buy in #{o}?",
    "What items are in purchase #{o} and what was the total?",
    "What were the totals of #{o} and #{o2}?",
    "Show me the payments on purchase #{o}",
    "What's the return window that applies to #{o}?",
    "Tell me about the items of #{o}",
    "Can I exchange the shoes for a bigger size?",
    "My coupon code isn't working at checkout",
)
# One phrasing for the concurrency and overhead parts: an LLM-routed lookup, three LLM calls.
REFERENCE_COMPLEX = COMPLEX_PHRASES[0]


@dataclass(frozen=True)
class Question:
    kind: Kind
    intent: str  # the intent it should route to
    text: str


class OrderPool:
    """Order ids handed out once each: refundable ones for refunds, any others for the rest."""

    def __init__(self, refundable: list[int], seeded_orders: int, emails: list[str], rng: random.Random) -> None:
        self._refundable: Iterator[int] = iter(refundable)
        taken = set(refundable)
        others = [o for o in range(10_001, 10_001 + seeded_orders) if o not in taken]
        rng.shuffle(others)
        self._others: Iterator[int] = iter(others)
        self._emails = emails
        self.rng = rng

    def fill(self, phrase: str, refundable: bool = False) -> str:
        order = next(self._refundable) if refundable else next(self._others)
        return phrase.format(o=order, o2=next(self._others), email=self.rng.choice(self._emails))


def complex_question(pool: OrderPool, phrase: str | None = None) -> Question:
    return Question("complex", "complex", pool.fill(phrase or pool.rng.choice(COMPLEX_PHRASES)))


def mix(count: int, complex_share: float, pool: OrderPool, rng: random.Random) -> list[Question]:
    """`count` questions, `complex_share` of them complex; the rule ones cycle through intents and phrasings."""
    n_complex = round(count * complex_share)
    questions = [complex_question(pool, COMPLEX_PHRASES[i % len(COMPLEX_PHRASES)]) for i in range(n_complex)]
    intents = list(RULE_PHRASES)
    for i in range(count - n_complex):
        intent = intents[i % len(intents)]
        phrases = RULE_PHRASES[intent]
        text = pool.fill(phrases[(i // len(intents)) % len(phrases)], refundable=intent == "refund")
        questions.append(Question("rule", intent, text))
    rng.shuffle(questions)
    return questions


def rule_questions_needing_refunds(count: int, complex_share: float) -> int:
    rules = count - round(count * complex_share)
    return -(-rules // len(RULE_PHRASES))


def off_path(question: Question, values: dict[str, Any]) -> str | None:
    """Why an answer did not take the question's path (None when it did)."""
    route = values.get("route") or {}
    calls = (values.get("usage") or {}).get("calls", 0)
    if values.get("degraded"):
        return f"degraded: {values['degraded']}"
    if route.get("intent") != question.intent:
        return f"routed to {route.get('intent')} by {route.get('tier')}"
    if question.kind == "rule" and (calls or route.get("tier") not in ("rule", "classifier")):
        return f"rule question used the LLM ({calls} calls, tier {route.get('tier')})"
    if question.kind == "complex" and not calls:
        return "complex question made no LLM call"
    return None
