"""Turns LangGraph stream parts into protocol events, and events into SSE frames.

This module knows the wire protocol and nothing of the support domain:
- an event is named by its stream mode, plus `|ns1|ns2` for parts from subgraphs;
- the protocol's `messages-tuple` mode is LangGraph's `messages` mode sent as
  `[message, metadata]`; the protocol's older `messages` mode accumulates chunks and
  sends `messages/metadata` once per message, then `messages/partial` (the message
  so far) or `messages/complete`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal, cast

from langchain_core.messages import AIMessageChunk, BaseMessage, BaseMessageChunk, message_chunk_to_message
from langgraph.types import StreamMode as GraphStreamMode

from infra.jsonwire import dumps

StreamMode = Literal["values", "updates", "messages-tuple", "messages", "custom", "tasks", "checkpoints", "debug"]
STREAM_MODES: tuple[str, ...] = StreamMode.__args__  # type: ignore[attr-defined]

# What LangGraph must produce for each protocol mode.
_GRAPH_MODE = {"messages-tuple": "messages"}


def graph_stream_modes(modes: Iterable[str]) -> list[GraphStreamMode]:
    return sorted({cast(GraphStreamMode, _GRAPH_MODE.get(mode, mode)) for mode in modes})


def frame(event: str, data: bytes, event_id: str | None = None) -> bytes:
    """One SSE frame: `event:`, optional `id:`, one compact JSON `data:` line."""
    head = f"event: {event}\n" + (f"id: {event_id}\n" if event_id is not None else "")
    return head.encode() + b"data: " + data + b"\n\n"


HEARTBEAT = b": heartbeat\n\n"


class PartEncoder:
    """Encodes one run's stream parts for the protocol modes the client asked for."""

    def __init__(self, modes: Iterable[str]) -> None:
        self.modes = set(modes)
        self._partial: dict[str, BaseMessageChunk] = {}

    def encode(self, part: Mapping[str, Any]) -> Iterator[tuple[str, bytes]]:
        mode, ns, data = part["type"], part.get("ns") or (), part["data"]
        suffix = "".join(f"|{segment}" for segment in ns)
        if mode == "messages":
            yield from self._messages(data, suffix)
        elif mode == "values":
            if mode in self.modes:
                values = data
                if part.get("interrupts"):
                    values = {**data, "__interrupt__": list(part["interrupts"])} if isinstance(data, dict) else data
                yield "values" + suffix, dumps(values)
        elif mode in self.modes:
            yield mode + suffix, dumps(data)

    def _messages(self, data: tuple[BaseMessage, dict[str, Any]], suffix: str) -> Iterator[tuple[str, bytes]]:
        message, metadata = data
        if "messages-tuple" in self.modes:
            yield "messages" + suffix, dumps([message, metadata])
        if "messages" not in self.modes:
            return
        key = message.id or ""
        if key not in self._partial:
            yield "messages/metadata" + suffix, dumps({key: {"metadata": metadata}})
        if isinstance(message, BaseMessageChunk):
            previous = self._partial.get(key)
            merged = message if previous is None else previous + message
            self._partial[key] = merged
            yield "messages/partial" + suffix, dumps([message_chunk_to_message(merged)])
        else:
            self._partial.setdefault(key, AIMessageChunk(content=""))
            yield "messages/complete" + suffix, dumps([message])
