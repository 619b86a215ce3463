"""Metrics hooks, in-process, on the real pieces: node timing on a compiled graph, the LLM service
on the simulator, the caches on a real Redis, the breaker and the gate. Each test reads the
process's Prometheus registry and uses label values of its own, or compares before and after."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, TypedDict

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableLambda
from langgraph.graph import END, START, StateGraph
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from infra.llm.breaker import CircuitBreaker
from infra.llm.cache import ResponseCache
from infra.llm.gate import LocalGate
from infra.llm.redis_cache import RedisCacheTier
from infra.llm.retry import LlmUnavailable
from infra.llm.service import LlmService
from infra.settings import Settings
from server.run_telemetry import NodeTelemetry

pytestmark = pytest.mark.timeout(20)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def unique() -> str:
    return uuid.uuid4().hex[:10]


class Steps(TypedDict, total=False):
    steps: list[str]


def build_graph() -> Any:
    inner = StateGraph(Steps)
    inner.add_node("inner", lambda state: {"steps": [*state.get("steps", []), "inner"]})
    inner.add_edge(START, "inner")
    inner.add_edge("inner", END)

    def choose(state: Steps) -> str:
        return "sub"

    outer = StateGraph(Steps)
    # A runnable node named like its node: it runs as a second chain run with the same name and
    # metadata inside the node's task, and must not count twice.
    outer.add_node("outer", RunnableLambda(lambda state: {"steps": ["outer"]}, name="outer"))
    outer.add_node("sub", inner.compile(name="sub"))
    outer.add_edge(START, "outer")
    outer.add_conditional_edges("outer", choose)  # the edge function runs inside outer's task too
    outer.add_edge("sub", END)
    return outer.compile()


async def test_node_tasks_are_timed_once_each_and_nested_runs_are_not() -> None:
    graph = unique()
    result = await build_graph().ainvoke({}, {"callbacks": [NodeTelemetry(graph)]})
    assert result["steps"] == ["outer", "inner"]
    count = "switchyard_node_duration_seconds_count"
    assert sample(count, graph=graph, node="outer") == 1
    assert sample(count, graph=graph, node="sub") == 1
    assert sample(count, graph=graph, node="inner") == 0  # the subgraph's own node
    assert sample(count, graph=graph, node="choose") == 0


async def test_llm_calls_tokens_cost_and_errors_are_counted() -> None:
    model = f"gpt-4o-{unique()}"  # priced by prefix, a label of its own
    service = LlmService.from_settings(
        Settings(agent_model=model, llm_max_attempts=2, llm_backoff_base_s=0.01, llm_backoff_max_s=0.02)
    )
    errors_before = sample("switchyard_llm_attempt_errors_total", kind="llm_server_error")
    await service.ainvoke("agent", [HumanMessage("hello")])
    assert sample("switchyard_llm_calls_total", model=model, outcome="ok") == 1
    assert sample("switchyard_llm_tokens_total", model=model, kind="prompt") > 0
    assert sample("switchyard_llm_tokens_total", model=model, kind="completion") > 0
    assert sample("switchyard_llm_cost_usd_total", model=model) > 0
    with pytest.raises(LlmUnavailable):
        await service.ainvoke("agent", [HumanMessage("[sim:fault=500] hello")])
    assert sample("switchyard_llm_calls_total", model=model, outcome="llm_server_error") == 1
    assert sample("switchyard_llm_attempt_errors_total", kind="llm_server_error") == errors_before + 2
    assert sample("switchyard_llm_call_duration_seconds_count", model=model) == 2


async def test_cache_lookups_are_counted_per_cache_tier_and_result(redis_url: str) -> None:
    name, prefix = unique(), unique()
    writer, reader = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        here: ResponseCache[str] = ResponseCache(10, 60, second_tier=RedisCacheTier(writer, prefix, "a"), name=name)
        there: ResponseCache[str] = ResponseCache(10, 60, second_tier=RedisCacheTier(reader, prefix, "a"), name=name)
        await here.aput("k", "answer", {"order:1": "v1"}, cacheable=True)
        assert await there.aget("k", {"order:1": "v1"}) == "answer"  # memory miss, Redis hit
        assert await there.aget("k", {"order:1": "v1"}) == "answer"  # memory hit
        assert await there.aget("k", {"order:1": "v2"}) is None  # stale in both
    finally:
        await writer.aclose()
        await reader.aclose()

    def lookups(tier: str, result: str) -> float:
        return sample("switchyard_llm_cache_lookups_total", cache=name, tier=tier, result=result)

    assert (lookups("memory", "hit"), lookups("memory", "miss")) == (1, 2)
    assert (lookups("redis", "hit"), lookups("redis", "miss")) == (1, 1)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_breaker_state_gauge_follows_closed_open_half_open() -> None:
    clock, name = Clock(), f"http://{unique()}/v1"
    breaker = CircuitBreaker(name, failure_threshold=2, reset_after_s=10, clock=clock)

    def state() -> float | None:
        return REGISTRY.get_sample_value("switchyard_llm_breaker_state", {"endpoint": name})

    assert state() == 0
    await breaker.record_failure()
    await breaker.record_failure()
    assert state() == 2
    clock.now = 11
    await breaker.refresh()  # what /metrics does before a scrape
    assert state() == 1
    await breaker.admit()
    await breaker.record_success()
    assert state() == 0


async def test_gate_queue_depth_and_wait_are_measured() -> None:
    gate = LocalGate(1, None, None)
    depth = "switchyard_llm_gate_queue_depth"
    waits_before = sample("switchyard_llm_gate_wait_seconds_count", priority="background")
    depth_before = sample(depth, priority="background")
    release = asyncio.Event()

    async def hold() -> None:
        async with gate.slot(priority="background"):
            await release.wait()

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    waiter = asyncio.create_task(hold())
    await asyncio.sleep(0.01)
    assert sample(depth, priority="background") == depth_before + 1
    release.set()
    await asyncio.gather(holder, waiter)
    assert sample(depth, priority="background") == depth_before
    assert sample("switchyard_llm_gate_wait_seconds_count", priority="background") == waits_before + 2
