"""Which durable checkpointing is cheapest? The refund path in-process, per option.

Options, each on a fresh copy of the same shop, each run refunding its own order:
- none: the graph compiled with no checkpointer, the floor every option is measured against;
- memory: LangGraph's InMemorySaver, not durable (the reference);
- stock-full / stock-normal: LangGraph's AsyncSqliteSaver (aiosqlite) with
  `synchronous=FULL` (fsync every commit) or `NORMAL` (WAL; fsync at checkpoint);
- inline-full / inline-normal: our InlineSqliteSaver, same SQL run on the loop;
- inline-exit: inline-normal with `durability="exit"`, one write per run instead of one
  per superstep: what fewer supersteps could save at most;
- redis / redis-aof: our RedisSaver against a `redis-server` the benchmark starts on a free
  loopback port, with no persistence, or with an append-only file fsynced every second.

So that a noisy neighbour hits every option alike, concurrency 1 is interleaved run by run (each
order refunded by every option in turn), and at higher concurrency the options' cells run back
to back, their order rotated each repeat; medians over repeats are reported. An option's
checkpoint cost is its mean run latency at concurrency 1 minus that of `none` in the same
repeat (median over repeats), also shown as a ratio to `memory`'s.

`python -m bench.checkpointers` (or `switchyard bench checkpointers`) prints both tables and
writes `bench/results/checkpointers.{json,md}`.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

from langgraph.types import Durability

from bench import checkpointer_report as report
from bench.common import (
    NO_APPROVAL,
    add_output_options,
    check_answer,
    command_line,
    fresh_copy,
    machine_info,
    percentile,
    prepare_shop,
    refund_input,
    run_in_workdir,
)
from bench.redis_server import AOF_EVERYSEC, NO_PERSISTENCE, REDIS_SERVER, redis_server

SQLITE_OPTIONS = ("stock-full", "stock-normal", "inline-full", "inline-normal", "inline-exit")
REDIS_OPTIONS = ("redis", "redis-aof")
OPTIONS = ("none", "memory", *SQLITE_OPTIONS, *REDIS_OPTIONS)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@asynccontextmanager
async def saver_for(option: str, folder: Path) -> AsyncIterator[Any]:
    import aiosqlite
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from infra.persistence.checkpointer import open_checkpointer
    from infra.persistence.redis_checkpointer import RedisSaver

    sync = "FULL" if option.endswith("full") else "NORMAL"
    pragmas = ("PRAGMA journal_mode=WAL", f"PRAGMA synchronous={sync}")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "checkpoints.db"
    if option == "none":
        yield None
    elif option == "memory":
        yield InMemorySaver()
    elif option.startswith("stock"):
        async with aiosqlite.connect(str(path)) as conn:
            for pragma in pragmas:
                await conn.execute(pragma)
            saver = AsyncSqliteSaver(conn)
            await saver.setup()
            yield saver
    elif option in REDIS_OPTIONS:
        persistence = AOF_EVERYSEC if option == "redis-aof" else NO_PERSISTENCE
        with redis_server(folder / "redis", persistence) as url:
            redis = RedisSaver(url, prefix="sy:bench")
            try:
                yield redis
            finally:
                await redis.aclose()
    else:
        inline = open_checkpointer(path, pragmas)
        yield inline
        inline.close()


Setup = tuple[Any, Any]  # (shop, compiled graph)


@asynccontextmanager
async def opened(option: str, folder: Path, concurrency: int) -> AsyncIterator[Setup]:
    """The option's shop copy in `folder` and the graph compiled with a fresh saver of the cell."""
    from graphs.support import build
    from shop.tools import Shop

    shop = await Shop.open(folder / "shop.db")
    try:
        async with saver_for(option, folder / f"c{concurrency}") as saver:
            yield shop, build(checkpointer=saver)
    finally:
        await shop.close()


async def run_once(option: str, setup: Setup, order_id: int) -> float:
    """Refund `order_id` on a new thread; its latency in seconds."""
    from nodes.deps import use_shop
    from nodes.state import Context

    shop, graph = setup
    use_shop(shop)  # process-wide, and every option has a shop copy of its own
    durability: Durability | None = "exit" if option == "inline-exit" else None
    config: Any = {"configurable": {"thread_id": str(uuid4())}}
    started = time.perf_counter()
    values = await graph.ainvoke(refund_input(order_id), config, context=Context(**NO_APPROVAL), durability=durability)
    elapsed = time.perf_counter() - started
    check_answer(values, order_id)
    return elapsed


def cell(option: str, concurrency: int, repeat: int, latencies: list[float], wall: float) -> dict[str, Any]:
    return {
        "option": option,
        "concurrency": concurrency,
        "repeat": repeat,
        "runs": len(latencies),
        "runs_per_s": len(latencies) / wall,
        "mean_ms": statistics.fmean(latencies) * 1000,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


async def measure_alone(
    option: str, folder: Path, warmup: list[int], orders: list[int], concurrency: int, repeat: int
) -> dict[str, Any]:
    """One option at `concurrency`: `warmup` runs, then `orders` timed, on a fresh saver."""
    latencies: list[float] = []
    async with opened(option, folder, concurrency) as setup:

        async def worker(queue: list[int], timed: bool) -> None:
            while queue:
                elapsed = await run_once(option, setup, queue.pop())
                if timed:
                    latencies.append(elapsed)

        warm = list(warmup)
        await asyncio.gather(*(worker(warm, False) for _ in range(concurrency)))
        queue = list(orders)
        started = time.perf_counter()
        await asyncio.gather(*(worker(queue, True) for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return cell(option, concurrency, repeat, latencies, wall)


async def measure_interleaved(
    options: list[str], folders: dict[str, Path], warmup: list[int], orders: list[int], repeat: int
) -> list[dict[str, Any]]:
    """Every option at concurrency 1, run by run: each order is refunded once per option, in an order
    rotated per order, so a noisy neighbour hits every option alike. runs/s is 1 / mean latency."""
    latencies: dict[str, list[float]] = {option: [] for option in options}
    async with AsyncExitStack() as stack:
        setups = {o: await stack.enter_async_context(opened(o, folders[o], 1)) for o in options}
        for k, order_id in enumerate([*warmup, *orders]):
            for option in options[k % len(options) :] + options[: k % len(options)]:
                elapsed = await run_once(option, setups[option], order_id)
                if k >= len(warmup):
                    latencies[option].append(elapsed)
    return [cell(o, 1, repeat, latencies[o], sum(latencies[o])) for o in options]


async def bench(args: argparse.Namespace, options: list[str], workdir: Path) -> list[dict[str, Any]]:
    from nodes.deps import use_shop

    per_cell = args.warmup + args.runs
    template = await prepare_shop(workdir, per_cell * len(args.concurrency), log=log)
    cells = []
    for repeat in range(args.repeat):
        # Rotated each repeat, so no option always runs first (or right after a shop copy).
        shift = repeat % len(options)
        order = options[shift:] + options[:shift]
        folders = {option: fresh_copy(template, workdir / f"{option}-r{repeat}") for option in order}
        for i, concurrency in enumerate(args.concurrency):
            batch = template.refundable[i * per_cell : (i + 1) * per_cell]
            warmup, measured = batch[: args.warmup], batch[args.warmup :]
            progress = f"c={concurrency} repeat {repeat + 1}/{args.repeat}] {args.runs} runs"
            if concurrency == 1:
                log(f"[every option interleaved, {progress} each ...")
                cells += await measure_interleaved(order, folders, warmup, measured, repeat)
                continue
            for option in order:
                log(f"[{option} {progress} ...")
                cells.append(await measure_alone(option, folders[option], warmup, measured, concurrency, repeat))
        use_shop(None)
        if not args.keep_workdir:
            for folder in folders.values():
                shutil.rmtree(folder)
    return cells


# -- running it ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.checkpointers", description=__doc__.split("\n")[0])
    p.add_argument("--options", type=lambda v: v.split(","), default=list(OPTIONS), help=",".join(OPTIONS))
    p.add_argument("--concurrency", type=lambda v: [int(x) for x in v.split(",")], default=[1, 16])
    p.add_argument("--runs", type=int, default=80, help="measured runs per cell (default 80)")
    p.add_argument("--warmup", type=int, default=5, help="warm-up runs per cell, not counted (default 5)")
    p.add_argument("--repeat", type=int, default=3, help="repeat every cell; medians are reported (default 3)")
    add_output_options(p)
    args = p.parse_args(argv)
    if unknown := [o for o in args.options if o not in OPTIONS]:
        p.error(f"unknown options {','.join(unknown)}; choose from {','.join(OPTIONS)}")
    options = list(dict.fromkeys(args.options))
    if REDIS_SERVER is None and (skipped := [o for o in options if o in REDIS_OPTIONS]):
        log(f"redis-server is not installed: skipping {','.join(skipped)}")
        options = [o for o in options if o not in REDIS_OPTIONS]
    if not options:
        p.error("no option left to measure")

    started = time.perf_counter()
    cells = run_in_workdir("sy-bench-checkpointers-", args.keep_workdir, lambda w: bench(args, options, w))
    if cells is None:
        return 1
    summary, costs = report.summarize(cells, options), report.checkpoint_costs(cells, options)
    text = report.markdown(summary, costs)
    print(text)
    command = command_line("bench.checkpointers", argv)
    settings = f"medians of {args.repeat} repeats; {args.runs} runs per cell after {args.warmup} warm-up runs"
    meta = {
        "machine": machine_info(),
        "command": command,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    results = {"summary": summary, "checkpoint_cost": costs, "cells": cells}
    for path in report.write(args.out, text, f"Command: `{command}` ({settings})", meta, results):
        log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
