"""The classifier tier: nearest neighbours over TF-IDF vectors, for paraphrases the rule table misses.

Two views of a message, each TF-IDF weighted and compared by cosine:
- words and word bigrams, which carry meaning ("money back", "log in");
- character 3-5-grams inside words, which survive typos ("pasword", "refnd", "trackin").
An intent's score is the mean similarity of its `TOP_K` nearest training examples. The tier answers only
when the best intent is not `complex`, its score clears `THRESHOLD`, it beats the runner-up by `MARGIN`, and
enough of the words are ones the examples use. Otherwise it returns None: a wrong deterministic answer costs
more than an LLM call, so the thresholds were tuned for precision on `evals/datasets/routing_dev.jsonl`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from itertools import pairwise

from routers.classifier_examples import EXAMPLES
from routers.language import is_foreign, negated_intents
from routers.types import Decision, Intent, Query

# Chosen from a threshold x margin grid on the dev set, two steps inside the region with no wrong answers.
THRESHOLD = 0.24
MARGIN = 0.12
MIN_KNOWN_WORDS = 0.5  # share of a message's words the training examples contain
TOP_K = 5  # averaging several neighbours keeps one lookalike example from deciding alone
WORD_WEIGHT = 0.5  # the rest goes to character n-grams

Vector = dict[str, float]

_EMAIL = re.compile(r"\S+@\S+")
_DIGITS = re.compile(r"\d+")
_WORD = re.compile(r"[a-z]+")
# Unigrams of these carry no intent ("my", "please"); they still count inside bigrams ("my password").
_STOPWORDS = frozenset(
    "i me my the a an to of and or is are am was be it this that for on in at with you your we our do does"
    " did can could would will please just so".split()
)
# A message made only of these ("yes please", "ok thanks") has no intent of its own, whatever it scores.
_NO_CONTENT = _STOPWORDS | frozenset("yes yeah yep ok okay sure thanks thank thx hi hello hey num email".split())


def _words(text: str) -> list[str]:
    # Numbers and emails carry no intent; one placeholder each keeps "order 10002" close to "order 10003".
    text = _DIGITS.sub(" num ", _EMAIL.sub(" email ", text.lower())).replace("'", "")
    return _WORD.findall(text)


def _word_terms(words: list[str]) -> Counter[str]:
    unigrams = Counter(w for w in words if w not in _STOPWORDS)
    return unigrams + Counter(f"{a} {b}" for a, b in pairwise(words))


def _char_terms(words: list[str]) -> Counter[str]:
    terms: Counter[str] = Counter()
    for word in words:
        padded = f" {word} "
        for n in (3, 4, 5):
            terms.update(padded[i : i + n] for i in range(len(padded) - n + 1))
    return terms


@dataclass(frozen=True)
class _Space:
    """One TF-IDF view: document frequencies learnt from the examples."""

    idf: dict[str, float]

    @classmethod
    def fit(cls, documents: list[Counter[str]]) -> _Space:
        df: Counter[str] = Counter()
        for doc in documents:
            df.update(doc.keys())
        n = len(documents)
        return cls({term: math.log((1 + n) / (1 + count)) + 1.0 for term, count in df.items()})

    def vector(self, terms: Counter[str]) -> Vector:
        # Terms never seen in training carry no evidence for any intent, so they are dropped.
        weights = {t: (1.0 + math.log(c)) * self.idf[t] for t, c in terms.items() if t in self.idf}
        norm = math.sqrt(sum(w * w for w in weights.values()))
        return {t: w / norm for t, w in weights.items()} if norm else {}


def _cosine(a: Vector, b: Vector) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items())


@dataclass(frozen=True)
class _Example:
    intent: Intent
    text: str
    words: Vector
    chars: Vector


@dataclass(frozen=True)
class _Model:
    word_space: _Space
    char_space: _Space
    vocabulary: frozenset[str]
    examples: tuple[_Example, ...]


@cache
def _model() -> _Model:
    """Trained on first use (a few milliseconds), then shared: the model is immutable."""
    labelled = [(intent, text) for intent, texts in EXAMPLES.items() for text in texts]
    tokenised = [_words(text) for _, text in labelled]
    word_docs = [_word_terms(w) for w in tokenised]
    char_docs = [_char_terms(w) for w in tokenised]
    word_space, char_space = _Space.fit(word_docs), _Space.fit(char_docs)
    examples = tuple(
        _Example(intent, text, word_space.vector(wd), char_space.vector(cd))
        for (intent, text), wd, cd in zip(labelled, word_docs, char_docs, strict=True)
    )
    vocabulary = frozenset(w for words in tokenised for w in words)
    return _Model(word_space, char_space, vocabulary, examples)


@dataclass(frozen=True)
class Scores:
    """Per-intent scores for one message, best first, with the nearest examples that produced them."""

    ranked: list[tuple[Intent, float]]
    nearest: dict[Intent, list[tuple[str, float]]]
    known_words: float


def score(text: str) -> Scores:
    """Score `text` against every intent; exposed for evals and tuning."""
    model = _model()
    words = _words(text)
    known = sum(w in model.vocabulary for w in words) / len(words) if words else 0.0
    wv = model.word_space.vector(_word_terms(words))
    cv = model.char_space.vector(_char_terms(words))
    sims: dict[Intent, list[tuple[str, float]]] = {}
    for ex in model.examples:
        sim = WORD_WEIGHT * _cosine(wv, ex.words) + (1.0 - WORD_WEIGHT) * _cosine(cv, ex.chars)
        sims.setdefault(ex.intent, []).append((ex.text, sim))
    nearest = {intent: sorted(s, key=lambda p: p[1], reverse=True)[:TOP_K] for intent, s in sims.items()}
    ranked = sorted(
        ((intent, sum(s for _, s in top) / len(top)) for intent, top in nearest.items()),
        key=lambda p: p[1],
        reverse=True,
    )
    return Scores(ranked, nearest, known)


async def classifier_tier(query: Query) -> Decision | None:
    """Answer a confident, unambiguous English paraphrase; None otherwise (including for `complex`)."""
    if is_foreign(query.text):
        return None
    if all(w in _NO_CONTENT for w in _words(query.text)):
        return None
    scores = score(query.text)
    if scores.known_words < MIN_KNOWN_WORDS:
        return None
    (intent, best), (runner_up, second) = scores.ranked[0], scores.ranked[1]
    margin = best - second
    if intent == "complex" or best < THRESHOLD or margin < MARGIN or intent in negated_intents(query.text):
        return None
    near = ", ".join(f"{t!r} ({s:.2f})" for t, s in scores.nearest[intent][:2])
    return {
        "intent": intent,
        "tier": "classifier",
        "confidence": round(best, 3),
        "reason": f"classifier: score {best:.2f}, margin {margin:.2f} over {runner_up}; nearest {near}",
        "entities": query.entities,
    }
