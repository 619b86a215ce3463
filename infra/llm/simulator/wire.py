"""OpenAI's chat-completions shapes: the JSON body, the `chat.completion.chunk` SSE events, error bodies."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from infra.llm.simulator.conversation import CHARS_PER_TOKEN, count_tokens
from infra.llm.simulator.replies import Reply

SYSTEM_FINGERPRINT = "fp_simulator"
# Tool-call arguments stream in fragments of this many characters, as OpenAI's do, so clients reassemble.
ARGUMENT_FRAGMENT = 8
_PIECE = re.compile(r"\s*\S+|\s+$")


@dataclass(frozen=True)
class Event:
    """One SSE event and how many generated characters it carries, which is what paces it."""

    data: bytes
    chars: int = 0

    @property
    def tokens(self) -> float:
        return self.chars / CHARS_PER_TOKEN


def error_body(message: str, type_: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def usage(prompt_tokens: int, reply: Reply) -> dict[str, int]:
    completion = count_tokens(reply.text) + sum(
        count_tokens(c.name) + count_tokens(c.arguments) for c in reply.tool_calls
    )
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": prompt_tokens + completion,
    }


def text_pieces(text: str) -> list[str]:
    """Word-sized pieces (a word with its leading space) that concatenate back to `text`."""
    pieces = _PIECE.findall(text)
    return pieces if "".join(pieces) == text else [text]


def completion_body(completion_id: str, created: int, model: str, reply: Reply, use: dict[str, int]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None, "refusal": None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in reply.tool_calls
        ]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": reply.finish_reason}],
        "usage": use,
    }


def sse(data: dict[str, Any] | str) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"data: {payload}\n\n".encode()


def stream_events(
    completion_id: str, created: int, model: str, reply: Reply, use: dict[str, int], include_usage: bool
) -> list[Event]:
    """Role, then content or tool-call deltas, then finish_reason, then usage (if asked), then [DONE]."""

    def chunk(delta: dict[str, Any] | None, finish: str | None = None, chars: int = 0) -> Event:
        data: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": []
            if delta is None
            else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if include_usage:
            data["usage"] = use if delta is None else None
        return Event(sse(data), chars)

    events = [chunk({"role": "assistant", "content": None if reply.tool_calls else "", "refusal": None})]
    events += [chunk({"content": piece}, chars=len(piece)) for piece in text_pieces(reply.text)] if reply.text else []
    for index, call in enumerate(reply.tool_calls):
        opening = {
            "index": index,
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        events.append(chunk({"tool_calls": [opening]}, chars=len(call.name)))
        for start in range(0, len(call.arguments), ARGUMENT_FRAGMENT):
            fragment = call.arguments[start : start + ARGUMENT_FRAGMENT]
            events.append(
                chunk(
                    {"tool_calls": [{"index": index, "function": {"arguments": fragment}}]},
                    chars=len(fragment),
                )
            )
    events.append(chunk({}, finish=reply.finish_reason))
    if include_usage:
        events.append(chunk(None))
    events.append(Event(sse("[DONE]")))
    return events
