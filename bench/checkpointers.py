"""Which durable checkpointing is cheapest? The refund path in-process, per option.

Options, each on a fresh copy of the same shop, each run refunding its own order:
- memory: LangGraph's InMemorySaver, not durable (the reference);
- stock-full / stock-normal: LangGraph's AsyncSqliteSaver (aiosqlite) with
  `synchronous=FULL` (fsync every commit) or `NORMAL` (WAL; fsync at checkpoint);
- inline-full / inline-normal: our InlineSqliteSaver, same SQL run on the loop;
- inline-exit: inline-normal with `durability="exit"`, one write per run instead of one
  per superstep: what fewer supersteps could save at most.

`python -m bench.checkpointers` (or `switchyard bench checkpointers`) prints runs/s and
p50 at each concurrency, the ratio to the stock saver, and writes
`bench/results/checkpointers.{json,md}`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

from langgraph.types import Durability

from bench.common import (
    NO_APPROVAL,
    ROOT,
    check_answer,
    fresh_copy,
    machine_info,
    percentile,
    prepare_shop,
    refund_input,
)

OPTIONS = ("memory", "stock-full", "stock-normal", "inline-full", "inline-normal", "inline-exit")


@asynccontextmanager
async def saver_for(option: str, path: Path) -> AsyncIterator[Any]:
    import aiosqlite
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from infra.persistence.checkpointer import open_checkpointer

    sync = "FULL" if option.endswith("full") else "NORMAL"
    pragmas = ("PRAGMA journal_mode=WAL", f"PRAGMA synchronous={sync}")
    if option == "memory":
        yield InMemorySaver()
    elif option.startswith("stock"):
        async with aiosqlite.connect(str(path)) as conn:
            for pragma in pragmas:
                await conn.execute(pragma)
            saver = AsyncSqliteSaver(conn)
            await saver.setup()
            yield saver
    else:
        inline = open_checkpointer(path, pragmas)
        yield inline
        inline.close()


async def measure(option: str, db: Path, orders: list[int], concurrency: int) -> dict[str, Any]:
    from graphs.support import build
    from nodes.deps import use_shop
    from nodes.state import Context
    from shop.tools import Shop

    shop = await Shop.open(db / "shop.db")
    use_shop(shop)
    durability: Durability | None = "exit" if option == "inline-exit" else None
    try:
        async with saver_for(option, db / "checkpoints.db") as saver:
            graph = build(checkpointer=saver)
            latencies: list[float] = []
            queue = list(orders)

            async def worker() -> None:
                while queue:
                    order_id = queue.pop()
                    started = time.perf_counter()
                    config: Any = {"configurable": {"thread_id": str(uuid4())}}
                    values = await graph.ainvoke(
                        refund_input(order_id), config, context=Context(**NO_APPROVAL), durability=durability
                    )
                    latencies.append(time.perf_counter() - started)
                    check_answer(values, order_id)

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            wall = time.perf_counter() - started
    finally:
        use_shop(None)
        await shop.close()
    return {
        "option": option,
        "concurrency": concurrency,
        "runs": len(latencies),
        "runs_per_s": len(latencies) / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


def table(cells: list[dict[str, Any]]) -> str:
    lines = [
        "| option | conc | runs | runs/s | p50 ms | p99 ms | runs/s vs stock-normal |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    base = {c["concurrency"]: c["runs_per_s"] for c in cells if c["option"] == "stock-normal"}
    for c in cells:
        ref = base.get(c["concurrency"])
        vs = f"{c['runs_per_s'] / ref:.2f}x" if ref else "-"
        lines.append(
            f"| {c['option']} | {c['concurrency']} | {c['runs']} | {c['runs_per_s']:.1f} | "
            f"{c['p50_ms']:.1f} | {c['p99_ms']:.1f} | {vs} |"
        )
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="sy-bench-") as tmp:
        workdir = Path(tmp)
        needed = args.runs * len(args.concurrency)
        template = await prepare_shop(workdir, needed, log=lambda m: print(m, file=sys.stderr))
        cells = []
        for option in args.options:
            for i, concurrency in enumerate(args.concurrency):
                orders = template.refundable[i * args.runs : (i + 1) * args.runs]
                db = fresh_copy(template, workdir / f"{option}-{concurrency}")
                print(f"[{option} c={concurrency}] {len(orders)} runs ...", file=sys.stderr)
                cells.append(await measure(option, db, orders, concurrency))
    text = table(cells)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    command = "python -m bench.checkpointers " + " ".join(sys.argv[1:])
    (args.out / "checkpointers.md").write_text(
        f"# Checkpointer options, refund path in-process\n\nCommand: `{command.strip()}`\n\n{text}\n"
    )
    (args.out / "checkpointers.json").write_text(json.dumps({"machine": machine_info(), "cells": cells}, indent=2))
    print(f"wrote {args.out / 'checkpointers.md'}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.checkpointers", description=__doc__.split("\n")[0])
    p.add_argument("--options", type=lambda v: v.split(","), default=list(OPTIONS), help=",".join(OPTIONS))
    p.add_argument("--concurrency", type=lambda v: [int(x) for x in v.split(",")], default=[1, 16])
    p.add_argument("--runs", type=int, default=150, help="runs per cell (default 150)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    return asyncio.run(run(p.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
