"""The SSE encoder on a real graph with a subgraph and a streaming chat model."""

from __future__ import annotations

import json
from typing import Annotated, Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AnyMessage
from langgraph.graph import START, StateGraph
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from server.sse import PartEncoder, frame, graph_stream_modes


class State(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def toy_graph() -> Any:
    model = GenericFakeChatModel(messages=iter([AIMessage(content="tok1 tok2")]))

    async def talk(state: State) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    async def inner(state: State) -> dict[str, Any]:
        return {"messages": [AIMessage(content="from inside", id="inner-1")]}

    sub = StateGraph(State)
    sub.add_node("inner", inner)
    sub.add_edge(START, "inner")
    g = StateGraph(State)
    g.add_node("talk", talk)
    g.add_node("sub", sub.compile())
    g.add_edge(START, "talk")
    g.add_edge("talk", "sub")
    return g.compile()


async def encode(modes: list[str], subgraphs: bool) -> list[tuple[str, Any]]:
    encoder = PartEncoder(modes)
    events = []
    async for part in toy_graph().astream(
        {"messages": [{"role": "user", "content": "hi"}]},
        stream_mode=graph_stream_modes(modes),
        subgraphs=subgraphs,
        version="v2",
    ):
        events += [(name, json.loads(data)) for name, data in encoder.encode(part)]
    return events


async def test_subgraph_events_are_named_mode_pipe_namespace() -> None:
    events = await encode(["updates"], subgraphs=True)
    names = [name for name, _ in events]
    inner = [n for n in names if n.startswith("updates|sub:")]
    assert inner and all(len(n.split("|")) == 2 for n in inner)
    assert ("updates", {"talk": events[0][1]["talk"]}) == events[0]
    plain = await encode(["updates"], subgraphs=False)
    assert all("|" not in name for name, _ in plain)


async def test_messages_tuple_sends_chunks_with_metadata() -> None:
    events = [d for n, d in await encode(["messages-tuple"], subgraphs=False) if n == "messages"]
    chunks = [d[0]["content"] for d in events if d[0]["type"] == "AIMessageChunk"]
    assert "".join(chunks) == "tok1 tok2"
    assert all(d[1]["langgraph_node"] in ("talk", "sub") for d in events)


async def test_legacy_messages_mode_accumulates_partials() -> None:
    events = await encode(["messages"], subgraphs=False)
    names = [n for n, _ in events]
    assert names[0] == "messages/metadata"
    partials = [d[0]["content"] for n, d in events if n == "messages/partial"]
    assert partials[-1] == "tok1 tok2" and partials == sorted(partials, key=len)
    assert names.count("messages/metadata") == len({next(iter(d)) for n, d in events if n == "messages/metadata"})


async def test_values_carry_interrupts_and_modes_not_asked_for_are_dropped() -> None:
    encoder = PartEncoder(["values"])
    part = {"type": "values", "ns": (), "data": {"a": 1}, "interrupts": ({"value": "ok?", "id": "i1"},)}
    assert list(encoder.encode(part)) == [("values", b'{"a":1,"__interrupt__":[{"value":"ok?","id":"i1"}]}')]
    assert list(encoder.encode({"type": "custom", "ns": (), "data": 1})) == []


def test_frame_layout() -> None:
    assert frame("end", b"null") == b"event: end\ndata: null\n\n"
    assert frame("values", b"{}", "7") == b"event: values\nid: 7\ndata: {}\n\n"
