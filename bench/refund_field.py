"""The field's refund figure, in-process: the refund path with the back office's real latencies.

The lookups wait as long as they did in the field (`shop.tools.FIELD_LATENCY`: order 1.2 s,
payments 1.4 s, policy 0.8 s). Our graph runs them as parallel branches; the baseline runs the
same node functions one after another, in a chain with the same checkpointer and shop:

    guard -> route -> order_status -> payment_history -> refund_policy -> assess_refund
          -(after_assessment)-> issue_refund -> respond

Runs alternate between the two graphs, each refunding an order of its own.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from bench.common import NO_APPROVAL, check_answer, refund_input
from nodes.guard import guard
from nodes.lookups import order_status, payment_history, refund_policy
from nodes.refunds import assess_refund, issue_refund
from nodes.respond import respond
from nodes.route import route
from nodes.state import Context, SupportInput, SupportState
from routers.edges import after_assessment
from shop.tools import FIELD_LATENCY

# The shop tools the three lookups call, and the one write after them.
LOOKUP_TOOLS = ("get_order", "get_payment_history", "get_order_refund_policy")
WRITE_TOOL = "issue_refund"
TARGET_OVERHEAD_MS = 30.0


def build_sequential(checkpointer: Any) -> CompiledStateGraph[SupportState, Context, SupportInput, SupportState]:
    """The refund path with its lookups in a chain: what the path costs without the fan-out."""
    g = StateGraph(SupportState, input_schema=SupportInput, context_schema=Context)
    g.add_node("guard", guard)
    g.add_node("route", route)
    for lookup in (order_status, payment_history, refund_policy):
        g.add_node(lookup)  # one after another this time
    g.add_node("assess_refund", assess_refund)
    g.add_node("issue_refund", issue_refund)
    g.add_node("respond", respond)
    g.add_edge(START, "guard")
    g.add_edge("guard", "route")
    g.add_edge("route", "order_status")
    g.add_edge("order_status", "payment_history")
    g.add_edge("payment_history", "refund_policy")
    g.add_edge("refund_policy", "assess_refund")
    g.add_conditional_edges("assess_refund", after_assessment, ["issue_refund", "respond"])
    g.add_edge("issue_refund", "respond")
    g.add_edge("respond", END)
    return g.compile(checkpointer=checkpointer, name="support-sequential")


def critical_paths(latency: dict[str, float]) -> tuple[float, float]:
    """(parallel, sequential) seconds of tool latency on the path: the floor each graph cannot beat."""
    lookups = [latency.get(tool, 0.0) for tool in LOOKUP_TOOLS]
    write = latency.get(WRITE_TOOL, 0.0)
    return max(lookups) + write, sum(lookups) + write


async def _one_run(graph: Any, order_id: int) -> float:
    config = {"configurable": {"thread_id": str(uuid4())}}
    started = time.perf_counter()
    last: Any = None
    async for values in graph.astream(
        refund_input(order_id), config, context=Context(**NO_APPROVAL), stream_mode="values"
    ):
        last = values
    ended = time.perf_counter()
    check_answer(last, order_id)
    return ended - started


async def measure(db: Path, orders: list[int], runs: int, warmup: int, log: Callable[[str], None]) -> dict[str, Any]:
    """`warmup` + `runs` refunds per graph, alternating; needs 2 x (warmup + runs) refundable orders."""
    from graphs.support import build
    from infra.persistence.checkpointer import open_checkpointer
    from nodes.deps import use_shop
    from shop.tools import Shop

    latency = dict(FIELD_LATENCY)
    shop = await Shop.open(db / "shop.db", latency=latency)
    use_shop(shop)
    saver = open_checkpointer(db / "checkpoints.db")
    queue = iter(orders)
    latencies: dict[str, list[float]] = {"sequential": [], "parallel": []}
    try:
        graphs = {"sequential": build_sequential(saver), "parallel": build(checkpointer=saver)}
        for i in range(warmup + runs):
            for name, graph in graphs.items():
                seconds = await _one_run(graph, next(queue))
                if i >= warmup:
                    latencies[name].append(seconds)
            log(f"[refund] {i + 1}/{warmup + runs} ({'warm-up' if i < warmup else 'measured'})")
    finally:
        use_shop(None)
        saver.close()
        await shop.close()
    parallel_path, sequential_path = critical_paths(latency)
    p50 = statistics.median(latencies["parallel"])
    overhead_ms = (p50 - parallel_path) * 1000
    return {
        "tool_latency_s": {tool: latency.get(tool, 0.0) for tool in (*LOOKUP_TOOLS, WRITE_TOOL)},
        "critical_path_s": {"parallel": parallel_path, "sequential": sequential_path},
        "latencies_s": latencies,
        "p50_s": {name: statistics.median(values) for name, values in latencies.items()},
        "mean_s": {name: statistics.fmean(values) for name, values in latencies.items()},
        "overhead_ms": {
            "p50": overhead_ms,
            "max": (max(latencies["parallel"]) - parallel_path) * 1000,
            "sequential_p50": (statistics.median(latencies["sequential"]) - sequential_path) * 1000,
        },
        "speedup": statistics.median(latencies["sequential"]) / p50,
        "verdict": "PASS" if overhead_ms <= TARGET_OVERHEAD_MS else "MISS",
    }
