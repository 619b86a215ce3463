"""`RedisSaver` against a real `redis-server`: LangGraph's conformance suite and real graphs.

Each saver the suite makes gets its own key prefix, so capabilities never see each
other's data on the shared server.
"""

from __future__ import annotations

import asyncio
import itertools
import operator
from collections.abc import AsyncIterator
from typing import Annotated, TypedDict
from uuid import uuid4

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.conformance import checkpointer_test
from langgraph.checkpoint.conformance.capabilities import DetectedCapabilities
from langgraph.checkpoint.conformance.initializer import RegisteredCheckpointer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, interrupt
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from infra.persistence.redis_checkpointer import RedisSaver
from tests.conformance import BASE, EXTENDED, UNSUPPORTED, assert_conforms


@pytest.fixture
def registered(redis_url: str) -> RegisteredCheckpointer:
    prefixes = itertools.count()
    run = uuid4().hex[:8]

    @checkpointer_test(name="RedisSaver", skip_capabilities=UNSUPPORTED)
    async def redis_saver() -> AsyncIterator[RedisSaver]:
        saver = RedisSaver(redis_url, prefix=f"conf-{run}-{next(prefixes)}")
        try:
            yield saver
        finally:
            await saver.aclose()

    return redis_saver


def test_claimed_capabilities(redis_url: str) -> None:
    saver = RedisSaver(redis_url)
    detected = {cap.value for cap in DetectedCapabilities.from_instance(saver).detected}
    assert detected == BASE | EXTENDED


@pytest.mark.parametrize("capability", sorted(BASE | EXTENDED))
async def test_conformance(registered: RegisteredCheckpointer, capability: str) -> None:
    await assert_conforms(registered, capability)


class State(TypedDict):
    steps: Annotated[list[str], operator.add]


def build(checkpointer: RedisSaver) -> CompiledStateGraph:
    """`start` -> `review` (a compiled child graph that asks a human) -> `finish`."""

    def ask(state: State) -> State:
        answer = interrupt("approve?")
        return {"steps": [f"review:{answer}"]}

    child = StateGraph(State)
    child.add_node("ask", ask)
    child.add_edge(START, "ask")
    review = child.compile()

    def call_review(state: State) -> State:
        result = review.invoke({"steps": []})
        return {"steps": result["steps"]}

    parent = StateGraph(State)
    parent.add_node("start", lambda state: {"steps": ["start"]})
    parent.add_node("review", call_review)
    parent.add_node("finish", lambda state: {"steps": ["finish"]})
    parent.add_edge(START, "start")
    parent.add_edge("start", "review")
    parent.add_edge("review", "finish")
    parent.add_edge("finish", END)
    return parent.compile(checkpointer=checkpointer)


async def test_graph_with_subgraph_interrupts_resumes_and_replays(redis_url: str) -> None:
    saver = RedisSaver(redis_url, prefix=f"graph-{uuid4().hex[:8]}", ttl_seconds=600)
    graph = build(saver)
    config: RunnableConfig = {"configurable": {"thread_id": "t1"}}
    try:
        first = await graph.ainvoke({"steps": []}, config)
        assert first["__interrupt__"][0].value == "approve?"
        paused = await graph.aget_state(config, subgraphs=True)
        assert paused.next == ("review",)
        assert paused.tasks[0].state is not None  # the child's checkpoint, in its own namespace

        done = await graph.ainvoke(Command(resume="yes"), config)
        assert done["steps"] == ["start", "review:yes", "finish"]

        history = [s async for s in graph.aget_state_history(config)]
        assert [s.next for s in history] == [(), ("finish",), ("review",), ("start",), ("__start__",)]
        # Replaying from before `start` forks the thread: the child asks again and takes a new answer.
        replay = await graph.ainvoke(None, history[3].config)
        assert replay["__interrupt__"][0].value == "approve?"
        replay = await graph.ainvoke(Command(resume="no"), config)
        assert replay["steps"] == ["start", "review:no", "finish"]
        assert (await graph.aget_state(config)).values["steps"] == ["start", "review:no", "finish"]

        client = Redis.from_url(redis_url)
        ttls = [await client.ttl(key) async for key in client.scan_iter(match=f"{saver.prefix}:*")]
        await client.aclose()
        assert ttls and all(0 < ttl <= 600 for ttl in ttls)
    finally:
        await saver.adelete_thread("t1")
        await saver.aclose()


def test_sync_api_runs_a_graph(redis_url: str) -> None:
    saver = RedisSaver(redis_url, prefix=f"sync-{uuid4().hex[:8]}")
    graph = build(saver)
    config: RunnableConfig = {"configurable": {"thread_id": "t1"}}
    try:
        assert graph.invoke({"steps": []}, config)["__interrupt__"]
        assert graph.invoke(Command(resume="ok"), config)["steps"] == ["start", "review:ok", "finish"]
        assert len(list(graph.get_state_history(config))) >= 4
        saver.delete_thread("t1")
        assert saver.get_tuple(config) is None
    finally:
        saver.close()


async def test_held_writes_are_stored_before_they_return(redis_url: str) -> None:
    """A task's writes wait briefly to ride with the thread's next put; they are in Redis when the call returns,
    with a put, alone, or when the saver closes."""
    prefix = f"hold-{uuid4().hex[:8]}"
    saver = RedisSaver(redis_url, prefix=prefix)
    thread: RunnableConfig = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    first = await saver.aput(thread, empty_checkpoint(), {}, {})
    riding = asyncio.ensure_future(saver.aput_writes(first, [("a", 1)], "task-1"))
    await asyncio.sleep(0)
    second = await saver.aput(first, empty_checkpoint(), {}, {})
    await riding
    await saver.aput_writes(second, [("b", 2)], "task-2")  # no put follows: sent on its own
    closing = asyncio.ensure_future(saver.aput_writes(second, [("c", 3)], "task-3"))
    await asyncio.sleep(0)
    await saver.aclose()
    assert closing.done() and closing.exception() is None

    reader = RedisSaver(redis_url, prefix=prefix)
    try:
        assert (await reader.aget_tuple(first)).pending_writes == [("task-1", "a", 1)]  # type: ignore[union-attr]
        assert (await reader.aget_tuple(thread)).pending_writes == [  # type: ignore[union-attr]
            ("task-2", "b", 2),
            ("task-3", "c", 3),
        ]
    finally:
        await reader.adelete_thread("t")
        await reader.aclose()


async def test_a_failed_call_fails_every_write_it_carried(redis_url: str) -> None:
    prefix = f"fail-{uuid4().hex[:8]}"
    saver = RedisSaver(redis_url, prefix=prefix)
    client = Redis.from_url(redis_url)
    thread: RunnableConfig = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    try:
        first = await saver.aput(thread, empty_checkpoint(), {}, {})
        second = await saver.aput(first, empty_checkpoint(), {}, {})
        await client.set(f"{prefix}:{{t}}:w::{first['configurable']['checkpoint_id']}", "not a hash")
        # Issued together, so held together and sent in one call, which stops at the broken key.
        broken = saver.aput_writes(first, [("a", 1)], "task-1")
        fine = saver.aput_writes(second, [("b", 2)], "task-2")
        results = await asyncio.gather(broken, fine, return_exceptions=True)
        assert [type(result) for result in results] == [ResponseError, ResponseError]
        await saver.aput_writes(second, [("b", 2)], "task-2")
        assert (await saver.aget_tuple(second)).pending_writes == [("task-2", "b", 2)]  # type: ignore[union-attr]
    finally:
        await saver.adelete_thread("t")
        await client.aclose()
        await saver.aclose()


async def test_many_concurrent_threads_share_a_bounded_pool(redis_url: str) -> None:
    """Connection exhaustion: 200 threads at once through one saver, nothing leaks or fails."""
    saver = RedisSaver(redis_url, prefix=f"many-{uuid4().hex[:8]}")
    graph = build(saver)
    client = Redis.from_url(redis_url)
    try:
        before = len(await client.client_list())
        configs: list[RunnableConfig] = [{"configurable": {"thread_id": f"t{i}"}} for i in range(200)]
        paused = await asyncio.gather(*(graph.ainvoke({"steps": []}, c) for c in configs))
        assert all(p["__interrupt__"] for p in paused)
        done = await asyncio.gather(*(graph.ainvoke(Command(resume="ok"), c) for c in configs))
        assert all(d["steps"] == ["start", "review:ok", "finish"] for d in done)
        opened = len(await client.client_list()) - before
        assert opened < 200  # operations wait for a pooled connection: neither one each nor a failure
        again = await asyncio.gather(*(saver.aget_tuple(c) for c in configs))
        assert all(t is not None for t in again)
    finally:
        for i in range(200):
            await saver.adelete_thread(f"t{i}")
        await client.aclose()
        await saver.aclose()
