"""The simulator's texts: answers grounded in tool results, rephrased drafts, and plain replies.

Every fact in a grounded answer is copied verbatim from the tool's JSON (numbers are read as their
original text, never re-formatted), and nothing else is stated. A rephrasing keeps the draft's words
except for contractions, so every number, id and date survives character for character.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from infra.llm.simulator.conversation import Conversation, ToolResult, order_ids
from infra.llm.simulator.keywords import concepts

_MAX_FACTS = 7
_MAX_RESULTS = 4
_TEXT_KEYS = ("title", "name", "message", "explanation", "rules", "reason", "body", "text")
_SELF_EXPLAINING = ("body", "message", "explanation", "text")
_UNSAID = ("status", "found", "title", "updated_at")
_HEADLINE_MONEY = ("total", "balance", "amount", "refundable")
_MONEY_WORDS = ("amount", "total", "balance", "price", "captured", "refunded", "refundable")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")
_DRAFT = re.compile(r"draft(?:\s+answer)?\s*:\s*", re.IGNORECASE)
_REPHRASE_ASK = re.compile(r"\b(rephrase|rewrite|reword|paraphrase)\b", re.IGNORECASE)
_CONTRACTIONS = (
    ("I am", "I'm"),
    ("do not", "don't"),
    ("does not", "doesn't"),
    ("cannot", "can't"),
    ("can not", "can't"),
    ("will not", "won't"),
    ("it is", "it's"),
    ("It is", "It's"),
    ("we are", "we're"),
    ("We are", "We're"),
    ("you are", "you're"),
    ("You are", "You're"),
    ("has not", "hasn't"),
    ("have not", "haven't"),
    ("is not", "isn't"),
    ("We will", "We'll"),
    ("we will", "we'll"),
    ("I will", "I'll"),
)
_OPENERS = ("Thanks for reaching out!", "Happy to help.", "Thanks for your message.", "Hello!")
_CLOSERS = (
    "Let me know if there is anything else I can do.",
    "Feel free to reply if you have any other questions.",
    "I'm here if you need anything else.",
)
_TOPICS = {
    "order_status": "I can check where an order is. Could you share the order number, for example #10002?",
    "refund": "I can help with a refund. Which order is it about?",
    "cancel_order": "I can help cancel an order that has not shipped yet. Which order is it?",
    "password_reset": "I can send you a password reset link. Which email address is on your account?",
    "faq": "Our help center covers shipping, returns, payments and warranties. What would you like to know?",
    "handoff": "I can pass this conversation to a member of our support team.",
    "payment": "I can look up the payments of an order. Which order is it about?",
}
_GENERAL = "I can help with orders, deliveries, refunds, cancellations and account access. What do you need?"


def _pick(options: tuple[str, ...], key: str) -> str:
    digest = hashlib.sha256(key.encode()).digest()
    return options[digest[0] % len(options)]


def _first_sentence(text: str, limit: int = 200) -> str:
    first = _SENTENCE_END.split(text.strip(), maxsplit=1)[0]
    return first if len(first) <= limit else first[:limit].rsplit(" ", 1)[0] + "..."


def _label(key: str) -> str:
    return key.replace("_", " ")


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and value:
        return value
    return None


def _facts(record: dict[str, Any]) -> list[str]:
    """Short "label value" phrases for one JSON object, most telling first, a few of each kind."""
    money: list[tuple[str, str]] = []
    dates: list[str] = []
    flags: list[str] = []
    others: list[str] = []
    texts: list[str] = []
    nested: list[str] = []
    lists: list[str] = []
    for key, value in record.items():
        shown = _scalar(value)
        if key == "id" or key.endswith("_id") or "email" in key or key in _UNSAID:
            continue  # the subject and status are said elsewhere; contact data and bookkeeping not at all
        if key.endswith("_cents") and shown:
            money.append((key, f"{_label(key.removesuffix('_cents'))} {shown} cents"))
        elif any(word in key for word in _MONEY_WORDS) and shown and not isinstance(value, bool):
            money.append((key, f"{_label(key)} {shown}"))
        elif key == "currency":
            continue  # qualifies the amounts, below
        elif (key.endswith("_at") or "date" in key) and shown:
            dates.insert(0, f"{_label(key)} {shown}")  # the latest event of a lifecycle comes last
        elif isinstance(value, bool):
            flags.append(f"{_label(key)}: {shown}")
        elif key in _TEXT_KEYS and shown:
            label = "" if key in _SELF_EXPLAINING else f"{_label(key)}: "
            texts.append(label + _first_sentence(shown).rstrip("."))
        elif isinstance(value, str) and shown and len(value) <= 40:
            others.append(f"{_label(key)} {shown}")
        elif isinstance(value, dict):
            nested.extend(f"{_label(key)} {fact}" for fact in _facts(value)[:2])
        elif isinstance(value, list) and value:
            lists.append(_describe_list(key, value))
    money.sort(key=lambda item: 0 if item[0].startswith(_HEADLINE_MONEY) else 1)
    amounts = [m for _, m in money][:2]
    currency = _scalar(record.get("currency"))
    if amounts and currency:
        amounts = [f"{a} ({currency})" for a in amounts]
    picked = texts[:2] + amounts + dates[:2] + others[:2] + flags[:2] + nested[:2] + lists[:2]
    return picked[:_MAX_FACTS]


def _describe_list(key: str, items: list[Any]) -> str:
    if all(isinstance(i, str) for i in items):
        return f"{_label(key)}: {', '.join(items[:3])}"
    names = [_scalar(i.get("name") or i.get("title")) for i in items if isinstance(i, dict)]
    if names and all(names):
        return f"{_label(key)} ({len(items)}): {', '.join(str(n) for n in names[:3])}"
    inner = _facts(items[0])[:2] if isinstance(items[0], dict) else []
    return f"{_label(key)} ({len(items)})" + (f": {', '.join(inner)}" if inner else "")


def _subject(record: dict[str, Any]) -> str | None:
    ids = [k for k in record if (k == "id" or k.endswith("_id")) and _scalar(record[k])]
    ids.sort(key=lambda k: 0 if "order" in k else 1)
    if ids:
        key = ids[0]
        return f"order #{record[key]}" if "order" in key else f"{_label(key)} {record[key]}"
    title = _scalar(record.get("title"))
    return f'"{title}"' if title else None


def _describe_record(record: dict[str, Any]) -> str:
    subject = _subject(record)
    if record.get("found") is False:
        return f"I could not find {subject or 'a matching record'}."
    status = _scalar(record.get("status"))
    head = (subject or "The record") + (f" is {status}" if status else "")
    facts = _facts(record)
    sentence = head + (": " + "; ".join(facts) if facts else "")
    return sentence[0].upper() + sentence[1:] + ("" if sentence.endswith((".", "!", "?")) else ".")


def _describe(result: ToolResult) -> str:
    try:
        data = json.loads(result.content, parse_float=str, parse_int=str)
    except ValueError:
        data = result.content
    if isinstance(data, dict):
        return _describe_record(data)
    if isinstance(data, list):
        records = [d for d in data if isinstance(d, dict)][:3]
        if not records:
            return f"{_label(result.name).capitalize()} found nothing." if not data else ", ".join(map(str, data))
        return " ".join(_describe_record(r) for r in records)
    return _first_sentence(str(data), limit=400)


def grounded_answer(results: tuple[ToolResult, ...]) -> str:
    """A short answer stating what the tools returned, and nothing they did not."""
    sentences = [_describe(r) for r in results[:_MAX_RESULTS]]
    return " ".join(["Here is what I found.", *sentences]) if len(sentences) > 1 else sentences[0]


def draft_of(conversation: Conversation) -> str | None:
    """The draft to rephrase: after `Draft answer:` in the last user message, or the whole message when
    the system prompt asks for a rephrasing."""
    found = _DRAFT.search(conversation.last_user)
    if found:
        return conversation.last_user[found.end() :].strip()
    if _REPHRASE_ASK.search(conversation.system) and conversation.last_user:
        return conversation.last_user
    return None


def rephrased(draft: str) -> str:
    friendly = draft
    for formal, casual in _CONTRACTIONS:
        friendly = re.sub(rf"\b{formal}\b", casual, friendly)
    return f"{_pick(_OPENERS, draft)} {friendly} {_pick(_CLOSERS, draft)}"


def plain_reply(text: str) -> str:
    """A deterministic reply about the message's topic; the same text always gets the same reply."""
    found = concepts(text)
    topic = _TOPICS.get(max(found, key=lambda c: found[c])) if found else None
    ids = order_ids(text)
    mention = f" I see you mentioned order #{ids[0]}." if ids else ""
    return f"{_pick(_OPENERS, text)}{mention} {topic or _GENERAL}"
