"""What the simulator reads from a chat-completions request: the texts, the last user turn, tool results."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from infra.llm.simulator.config import strip_markers

# Order ids look like #10002; bare numbers count from five digits so years and quantities do not.
_ORDER_ID = re.compile(r"#(\d{1,12})\b|(?<![\d.,:/-])\b(\d{5,12})\b(?![.,:/-]\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# OpenAI counts roughly four characters of English per token; consistency matters more than accuracy.
CHARS_PER_TOKEN = 4
# Per-message overhead (role, separators), as in OpenAI's own accounting.
TOKENS_PER_MESSAGE = 3


class SimRequestError(ValueError):
    """A request the simulator refuses with a 400, as OpenAI would."""

    code = "sim_invalid_request"


@dataclass(frozen=True)
class ToolResult:
    """A `role: tool` message: the tool's name when the matching call is found, and its raw text."""

    name: str
    content: str


@dataclass(frozen=True)
class Conversation:
    system: str
    # The last user message, markers stripped: what every answer is about.
    last_user: str
    # Tool results that follow the last user message: the agent's current turn.
    tool_results: tuple[ToolResult, ...]
    # Every message's raw text, markers included: where per-request markers are looked for.
    texts: tuple[str, ...]
    prompt_tokens: int


def count_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def content_text(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of content blocks."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [b.get("text", "") for b in content if isinstance(b, dict) and isinstance(b.get("text"), str)]
        return "\n".join(parts)
    raise SimRequestError("message content must be a string, a list of content parts or null")


def read_conversation(messages: Any) -> Conversation:
    if not isinstance(messages, list) or not messages:
        raise SimRequestError("'messages' must be a non-empty list")
    if not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
        raise SimRequestError("every message must be an object with a string 'role'")
    texts = tuple(content_text(m.get("content")) for m in messages)
    last_user_at = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=-1)
    call_names = {
        call.get("id"): (call.get("function") or {}).get("name", "tool")
        for m in messages
        if m["role"] == "assistant"
        for call in m.get("tool_calls") or []
        if isinstance(call, dict)
    }
    results = tuple(
        ToolResult(name=str(call_names.get(m.get("tool_call_id"), "tool")), content=texts[i])
        for i, m in enumerate(messages)
        if i > last_user_at and m["role"] == "tool"
    )
    system = "\n".join(texts[i] for i, m in enumerate(messages) if m["role"] in ("system", "developer"))
    tool_call_text = sum(
        count_tokens(str((call.get("function") or {}).get("arguments", "")))
        for m in messages
        for call in m.get("tool_calls") or []
        if isinstance(call, dict)
    )
    return Conversation(
        system=strip_markers(system),
        last_user=strip_markers(texts[last_user_at]) if last_user_at >= 0 else "",
        tool_results=results,
        texts=texts,
        prompt_tokens=sum(count_tokens(t) + TOKENS_PER_MESSAGE for t in texts) + tool_call_text,
    )


def definition_tokens(body: dict[str, Any]) -> int:
    """Tokens of the tool definitions and response schema, which OpenAI bills as prompt tokens too."""
    offered = [body[key] for key in ("tools", "response_format") if body.get(key)]
    return count_tokens(json.dumps(offered)) if offered else 0


def order_ids(text: str) -> list[int]:
    """Order ids mentioned in `text`, first mention first, without repeats."""
    found = [int(a or b) for a, b in _ORDER_ID.findall(text)]
    return list(dict.fromkeys(found))


def emails(text: str) -> list[str]:
    return list(dict.fromkeys(_EMAIL.findall(text)))
