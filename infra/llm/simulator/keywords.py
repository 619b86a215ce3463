"""Keyword scoring: how the simulator "understands" a user message well enough to answer deterministically.

One table of cue phrases per concept serves both enum classification (the router's intents) and tool
choice (a concept's words are matched against tool names and descriptions). A longer cue weighs more,
so "refund policy" (faq) beats "refund" (refund).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Cue phrases per concept, "|"-separated to keep the table on one screen.
_CUE_TABLE = {
    "order_status": "where is|where's|tracking|track|delivery|delivered|deliver|shipped|arrive|arrived|status"
    "|package|parcel|eta|late|not received|hasn't come",
    "refund": "refund|refunded|money back|reimburse|reimbursed|reimbursement|chargeback|charged twice"
    "|return my money|pay me back",
    "cancel_order": "cancel|cancellation|call off|don't want it|do not want it",
    "password_reset": "password|log in|login|sign in|locked out|reset|can't access|cannot access",
    "faq": "policy|policies|refund policy|return policy|how long|how do|how much|do you|shipping cost"
    "|payment methods|warranty|opening hours|international",
    "handoff": "human|person|representative|manager|supervisor|complaint|complain|lawyer|legal|speak to"
    "|talk to|real agent",
    "payment": "paid|pay|payment|payments|charge|charged|billing|invoice|card",
}
CUES: dict[str, tuple[str, ...]] = {concept: tuple(cues.split("|")) for concept, cues in _CUE_TABLE.items()}
# What a matched concept adds to the user's words when tools are matched against them.
CONCEPT_WORDS: dict[str, tuple[str, ...]] = {
    "order_status": ("order", "status"),
    "refund": ("refund", "money", "back"),
    "cancel_order": ("cancel", "order"),
    "password_reset": ("password", "reset", "account"),
    "faq": ("policy", "help", "articles", "search"),
    "handoff": ("human", "person"),
    "payment": ("payment", "payments"),
}
STOPWORDS = frozenset(
    "a an the my me i you your is are was were be been it its of for to and or in on at with can could "
    "please what where when how do does did this that has have hi hello thanks thank want need about "
    "would like get by any all if so just".split()
)
_WORD = re.compile(r"[a-z0-9]+")
# Below this length a prefix match is too loose ("pay" would match "payload").
_MIN_PREFIX = 4


def words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower().replace("_", " ")) if w not in STOPWORDS]


def similar(a: str, b: str) -> bool:
    """Same word, or one a prefix of the other (plural, -ing) when both are long enough to be specific."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return len(short) >= _MIN_PREFIX and long.startswith(short)


def _has_cue(text: str, cue: str) -> bool:
    return re.search(r"(?<![a-z0-9])" + re.escape(cue) + r"(?![a-z0-9])", text) is not None


def matched_cues(text: str, concept: str) -> list[str]:
    lowered = text.lower()
    return [cue for cue in CUES.get(concept, ()) if _has_cue(lowered, cue)]


def cue_weight(cue: str) -> int:
    return 1 + len(cue.split())


@dataclass(frozen=True)
class Choice:
    value: str
    score: float
    cues: tuple[str, ...]

    def reason(self) -> str:
        if not self.cues:
            return f"no keyword matched; {self.value} by default"
        quoted = ", ".join(f"'{c}'" for c in self.cues[:3])
        return f"the message mentions {quoted}, which points to {self.value}"


def choose(values: Sequence[str], text: str, fallback: str = "complex") -> Choice:
    """The enum value the text is most about; `fallback` (if allowed) or the first value when none fits.

    A value scores its matched cues (longer cues weigh more) plus the words of its own name, each word
    divided among the values that share it, so "order" alone cannot tell order_status from cancel_order.
    """
    user_words = words(text)
    value_words = {v: words(v) for v in values}
    best = Choice(values[0], 0.0, ())
    for value in values:
        cues = matched_cues(text, value)
        score = float(sum(cue_weight(c) for c in cues))
        for word in value_words[value]:
            if any(similar(word, u) for u in user_words):
                sharing = sum(1 for ws in value_words.values() if word in ws)
                score += 1.0 / sharing
                if word not in cues:
                    cues.append(word)
        if score > best.score:
            best = Choice(value, score, tuple(cues))
    if best.score == 0 and fallback in values:
        return Choice(fallback, 0.0, ())
    return best


def concepts(text: str) -> dict[str, float]:
    """Every concept the text matches, with its cue score."""
    scores = {c: float(sum(cue_weight(cue) for cue in matched_cues(text, c))) for c in CUES}
    return {c: s for c, s in scores.items() if s > 0}


def expanded_words(text: str) -> set[str]:
    """The text's own words plus the words of every concept it matches."""
    found = set(words(text))
    for concept in concepts(text):
        found.update(CONCEPT_WORDS.get(concept, ()))
    return found


def overlap(user: Iterable[str], candidate: Iterable[str]) -> int:
    pool = list(candidate)
    return sum(1 for u in set(user) if any(similar(u, c) for c in pool))
