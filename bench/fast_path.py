"""Benchmark of the deterministic refund path: (a) in-process, (b) `switchyard serve`,
(c) `langgraph dev`, side by side at several concurrencies, in one run.

    python -m bench.fast_path [--concurrency 1,16,64] [--repeat 3] [--setups a,b,c]

Every run refunds an order of its own (see bench.common), and fails loudly if its final
answer is not an issued refund. All setups are started first and the cells are interleaved
(for each repeat and concurrency: a, b, c back to back), so a noisy neighbour hits all three
alike. Results go to `<out>/<name>.{json,md}` (`--name`, default fast_path); targets print
PASS/MISS, never fail the run. `--setups b,r1,r2` compares embedded mode with scale-out on
Redis with one and two worker processes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import report
from bench.common import add_output_options, command_line, fresh_copy, machine_info, prepare_shop, run_in_workdir
from bench.setups import RunOnce, RunTiming, Setup, in_process, langgraph_dev, switchyard

RUN_TIMEOUT_S = 60.0  # one run; a hung run fails the benchmark instead of stalling it


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class CellPlan:
    """One repeat at one concurrency. Every setup refunds exactly these orders."""

    repeat: int
    concurrency: int
    warmup: list[int]
    measured: list[int]


def cell_sizes(args: argparse.Namespace, concurrency: int) -> tuple[int, int]:
    """(warm-up runs, measured runs) of one cell."""
    warmup = args.warmup if args.warmup is not None else max(3, concurrency // 4)
    return warmup, args.runs or max(args.min_runs, args.runs_per_slot * concurrency)


def orders_needed(args: argparse.Namespace) -> int:
    return args.repeat * sum(sum(cell_sizes(args, c)) for c in args.concurrency)


def plan_cells(args: argparse.Namespace, refundable: list[int]) -> list[CellPlan]:
    orders: Iterator[int] = iter(refundable)
    plans = []
    for repeat in range(args.repeat):
        for c in args.concurrency:
            warmup, runs = cell_sizes(args, c)
            batch = [next(orders) for _ in range(warmup + runs)]
            plans.append(CellPlan(repeat, c, batch[:warmup], batch[warmup:]))
    return plans


class Progress:
    """A line on stderr per second: which cell, how many runs done."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, total, 0
        self.started = time.perf_counter()
        self._tty = sys.stderr.isatty()

    def show(self, final: bool = False) -> None:
        text = f"{self.label}: {self.done}/{self.total} runs, {time.perf_counter() - self.started:.1f}s"
        end = "\n" if final or not self._tty else ""
        print(("\r" if self._tty else "") + text, end=end, file=sys.stderr, flush=True)

    async def tick(self) -> None:
        while True:
            await asyncio.sleep(1.0 if self._tty else 5.0)
            self.show()


async def drive(
    run: RunOnce,
    orders: list[int],
    concurrency: int,
    deadline: float | None,
    timings: list[RunTiming],
    progress: Progress,
) -> None:
    """`concurrency` workers take orders in turn; none starts a run after `deadline`."""
    queue = iter(orders)

    async def worker() -> None:
        for order_id in queue:
            if deadline is not None and time.perf_counter() > deadline:
                return
            async with asyncio.timeout(RUN_TIMEOUT_S):
                timings.append(await run(order_id))
            progress.done += 1

    # A failed run (BrokenRun, HTTP error, timeout) cancels the others and ends the benchmark.
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, len(orders))):
                group.create_task(worker())
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None


async def measure(setup: str, run: RunOnce, plan: CellPlan, seconds: float, repeats: int) -> report.CellRun:
    label = f"[{report.LABELS[setup]} c={plan.concurrency} repeat {plan.repeat + 1}/{repeats}]"
    warm = Progress(f"{label} warm-up", len(plan.warmup))
    await drive(run, plan.warmup, plan.concurrency, None, [], warm)
    timings: list[RunTiming] = []
    progress = Progress(label, len(plan.measured))
    ticker = asyncio.create_task(progress.tick())
    try:
        started = time.perf_counter()
        await drive(run, plan.measured, plan.concurrency, started + seconds, timings, progress)
        wall = time.perf_counter() - started
    finally:
        ticker.cancel()
    progress.show(final=True)
    return report.CellRun(
        setup,
        plan.concurrency,
        plan.repeat,
        len(plan.measured),
        wall,
        [t.latency for t in timings],
        [t.ttfe for t in timings],
    )


def setups_for(args: argparse.Namespace) -> dict[str, Setup]:
    chosen = [s for s in args.setups if not (s == "c" and args.skip_langgraph_dev)]
    known: dict[str, Setup] = {
        "a": in_process,
        "b": switchyard(),
        "c": langgraph_dev(args.langgraph_dev_jobs),
        "r1": switchyard(workers=1),
        "r2": switchyard(workers=2),
        "k": switchyard(auth=True),
    }
    return {s: known[s] for s in chosen}


async def bench(args: argparse.Namespace, workdir: Path) -> tuple[list[report.CellRun], dict[str, Any]]:
    setups = setups_for(args)
    template = await prepare_shop(workdir, orders_needed(args), log=log)
    plans = plan_cells(args, template.refundable)
    cells: list[report.CellRun] = []
    async with AsyncExitStack() as stack:
        runs: dict[str, RunOnce] = {}
        for name, setup in setups.items():
            log(f"starting {report.LABELS[name]} ...")
            db = fresh_copy(template, workdir / f"db-{name}")
            runs[name] = await stack.enter_async_context(setup(db, workdir, max(args.concurrency)))
        for plan in plans:
            for name, run in runs.items():
                cells.append(await measure(name, run, plan, args.cell_seconds, args.repeat))
    shop = {"seeded_orders": template.seeded_orders, "refundable_orders_used": len(template.refundable)}
    return cells, shop


def _int_list(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _setup_list(text: str) -> list[str]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    unknown = set(names) - set(report.LABELS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown setups {sorted(unknown)}; choose from {', '.join(report.LABELS)}")
    return names


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.fast_path", description=__doc__.split("\n\n")[0])
    p.add_argument("--concurrency", type=_int_list, default=[1, 16, 64], help="comma list (default 1,16,64)")
    p.add_argument("--runs", type=int, help="measured runs per cell (default max(min-runs, runs-per-slot*c))")
    p.add_argument("--min-runs", type=int, default=50, help="default 50")
    p.add_argument("--runs-per-slot", type=int, default=8, help="runs per unit of concurrency (default 8)")
    p.add_argument("--warmup", type=int, help="warm-up runs per cell, not counted (default max(3, c/4))")
    p.add_argument(
        "--cell-seconds",
        type=float,
        default=60.0,
        help="stop starting runs in a cell after this many seconds (default 60)",
    )
    p.add_argument("--repeat", type=int, default=1, help="repeat every cell; medians are reported (default 1)")
    p.add_argument(
        "--setups",
        type=_setup_list,
        default=["a", "b", "c"],
        help="comma list of a,b,c,r1,r2 (r1/r2: scale-out on Redis with 1 or 2 worker processes)",
    )
    p.add_argument("--skip-langgraph-dev", action="store_true", help="same as leaving c out of --setups")
    p.add_argument(
        "--langgraph-dev-jobs",
        type=int,
        help="pass --n-jobs-per-worker to langgraph dev (default: as shipped, one run at a time)",
    )
    p.add_argument("--name", default="fast_path", help="results file name, without suffix (default fast_path)")
    add_output_options(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    started = time.perf_counter()
    outcome = run_in_workdir("switchyard-bench-", args.keep_workdir, lambda workdir: bench(args, workdir))
    if outcome is None:
        return 1
    cells, shop = outcome
    setups = [s for s in report.LABELS if s in setups_for(args)]
    summary = report.summarize(cells)
    table = report.markdown(summary, args.concurrency, setups, args.repeat)
    command = command_line("bench.fast_path", argv)
    meta = {
        "machine": machine_info(),
        "command": command,
        "setups": setups,
        "shop": shop,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    print(table)
    for path in report.write(args.out, table, meta, cells, summary, args.name):
        log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
