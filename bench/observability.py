"""What observability costs, measured as A/B in one process, alternating rounds so drift hits both.

1. Requests: a GET through a FastAPI app's ASGI stack (no network, no server), with and
   without `RequestTelemetry` (the route-labelled latency histogram).
2. Runs: the deterministic refund path in-process (`graph.astream`, the fast-path floor: 8
   node tasks) with and without the metrics the server adds to a run: `NodeTelemetry` in the
   config and `RunTelemetry` around it, one run of each in turn. Then the same with tracing
   on, spans handed to an exporter that drops them (what tracing costs this process, not the
   collector). Medians of the per-run latencies.

    switchyard bench observability [--runs 200] [--requests 20000] [--rounds 5] [--out bench/results]

Prints the on/off ratios and writes them to `observability.md` and `observability.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from uuid import uuid4

from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from bench.common import NO_APPROVAL, ROOT, check_answer, prepare_shop, refund_input


class Discard(SpanExporter):
    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


async def per_op_us(op: Callable[[], Awaitable[object]], count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        await op()
    return (time.perf_counter() - started) / count * 1e6


async def requests(count: int, rounds: int) -> dict[str, float]:
    from fastapi import FastAPI

    from server.telemetry import RequestTelemetry

    def app(telemetry: bool) -> Any:
        api = FastAPI()

        @api.get("/threads/{thread_id}")
        async def thread(thread_id: str) -> dict[str, str]:
            return {"thread_id": thread_id}

        return api.build_middleware_stack() if not telemetry else RequestTelemetry(api.build_middleware_stack())

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    scope = {"type": "http", "method": "GET", "path": "/threads/abc", "headers": [], "query_string": b""}
    plain, timed = app(False), app(True)
    results: dict[str, list[float]] = {"off": [], "on": []}
    for _ in range(rounds):
        results["off"].append(await per_op_us(lambda: plain(dict(scope), receive, send), count))
        results["on"].append(await per_op_us(lambda: timed(dict(scope), receive, send), count))
    return {name: statistics.median(values) for name, values in results.items()}


async def runs(workdir: Path, count: int) -> dict[str, float]:
    from langchain_core.runnables import RunnableConfig

    from graphs.support import build
    from infra import tracing
    from infra.persistence.checkpointer import open_checkpointer
    from infra.persistence.records import RunRecord
    from nodes.deps import use_shop
    from nodes.state import Context
    from server.execution import RunRequest
    from server.run_telemetry import NodeTelemetry, RunTelemetry
    from shop.tools import Shop

    template = await prepare_shop(workdir, count * 4 + 2)
    orders = iter(template.refundable)
    shop = await Shop.open(template.folder / "shop.db")
    use_shop(shop)
    saver = open_checkpointer(workdir / "checkpoints.db")
    graph = build(checkpointer=saver)

    async def stream(order: int, config: RunnableConfig) -> Any:
        last: Any = None
        async for values in graph.astream(
            refund_input(order), config, context=Context(**NO_APPROVAL), stream_mode="values"
        ):
            last = values
        check_answer(last, order)
        return last

    async def run(telemetry: bool) -> None:
        order = next(orders)
        config: RunnableConfig = {"configurable": {"thread_id": str(uuid4())}}
        if not telemetry:
            await stream(order, config)
            return
        config["callbacks"] = [NodeTelemetry("support")]  # as `run_config` does
        record = RunRecord(run_id=str(uuid4()), thread_id="t", assistant_id="a", metadata={"graph_id": "support"})
        with RunTelemetry(record, RunRequest(graph, None, config, None, [])) as run_telemetry:  # as the executor
            with run_telemetry.running():
                values = await stream(order, config)
            run_telemetry.finish("success", values)

    async def timed(telemetry: bool) -> float:
        started = time.perf_counter()
        await run(telemetry)
        return time.perf_counter() - started

    async def pairs(off: str, on: str) -> None:
        """Runs without and with telemetry in turns (which goes first alternates), so drift hits both."""
        for i in range(count):
            for telemetry in (False, True) if i % 2 else (True, False):
                results[on if telemetry else off].append(await timed(telemetry))

    results: dict[str, list[float]] = {"off": [], "metrics": [], "off, tracer on": [], "metrics+tracing": []}
    try:
        await run(False)  # warm up, and import the tracing SDK outside the measurements
        tracing.start(Discard())
        await run(True)
        tracing.stop()
        await pairs("off", "metrics")
        tracing.start(Discard())
        await pairs("off, tracer on", "metrics+tracing")
        tracing.stop()
    finally:
        use_shop(None)
        saver.close()
        await shop.close()
    return {name: statistics.median(values) * 1e6 for name, values in results.items()}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="switchyard bench observability", description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=200, help="refund runs per setup (default 200)")
    p.add_argument("--requests", type=int, default=20_000, help="requests per setup and round (default 20000)")
    p.add_argument("--rounds", type=int, default=5, help="request rounds; medians are reported (default 5)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="default bench/results")
    args = p.parse_args(argv)
    http = asyncio.run(requests(args.requests, args.rounds))
    lines = [
        "# Observability overhead (`switchyard bench observability`)",
        "",
        "| what | off | on | on/off |",
        "|---|---:|---:|---:|",
        f"| request through the ASGI stack, with RequestTelemetry (µs) | {http['off']:.1f} | {http['on']:.1f} "
        f"| {http['on'] / http['off']:.3f}x |",
    ]
    with tempfile.TemporaryDirectory(prefix="bench-observability-") as folder:
        refund = asyncio.run(runs(Path(folder), args.runs))
    for off, on in (("off", "metrics"), ("off, tracer on", "metrics+tracing")):
        lines.append(
            f"| refund run p50, in-process, {off} vs {on} (ms) | {refund[off] / 1000:.2f} | {refund[on] / 1000:.2f} "
            f"| {refund[on] / refund[off]:.3f}x |"
        )
    table = "\n".join(lines) + "\n"
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "observability.md").write_text(table)
    (args.out / "observability.json").write_text(json.dumps({"requests_us": http, "refund_us": refund}, indent=2))
    print(f"wrote {args.out / 'observability.md'} and observability.json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
