"""Benchmark of the LLM path, against baselines measured in the same run:

1. refund: the field's refund figure in-process (parallel lookups vs the same nodes in a chain);
2. mix: 78% rule-routable + 22% complex traffic vs an all-LLM stand-in, over HTTP with the
   simulator in its own process;
3. concurrency: many concurrent SSE streams of complex questions in one server process vs the
   same question alone, with the server's memory per stream;
4. overhead: a complex question end to end vs its LLM calls sent straight to the simulator.

    python -m bench.llm_path [--parts refund,mix,concurrency,overhead] [--streams 1000]

Results go to `<out>/llm_path.{json,md}`; targets print PASS/MISS, never fail the run.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from bench import llm_parts, llm_report, refund_field
from bench.common import (
    SEED,
    BrokenRun,
    add_output_options,
    command_line,
    fresh_copy,
    machine_info,
    prepare_shop,
    run_in_workdir,
)
from bench.llm_queries import OrderPool, rule_questions_needing_refunds

PARTS = ("refund", "mix", "concurrency", "overhead")
OVER_HTTP = {"mix": llm_parts.hybrid_mix, "concurrency": llm_parts.concurrency, "overhead": llm_parts.overhead}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _emails(shop_db: Path, limit: int = 50) -> list[str]:
    with closing(sqlite3.connect(f"{shop_db.resolve().as_uri()}?mode=ro", uri=True)) as conn:
        return [email for (email,) in conn.execute("SELECT email FROM customers ORDER BY id LIMIT ?", (limit,))]


async def bench(args: argparse.Namespace, workdir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    refund_orders = 2 * (args.refund_runs + args.refund_warmup) if "refund" in args.parts else 0
    mix_refunds = rule_questions_needing_refunds(args.mix_requests, args.complex_share) if "mix" in args.parts else 0
    # At least one: `prepare_shop` scans the whole shop when asked for none.
    template = await prepare_shop(workdir, max(1, refund_orders + mix_refunds), log=log)
    rng = random.Random(SEED)
    emails = _emails(template.folder / "shop.db")
    pool = OrderPool(template.refundable[refund_orders:], template.seeded_orders, emails, rng)
    workspace = llm_parts.Workspace(template, workdir, pool, log)
    results: dict[str, Any] = {}
    for part in args.parts:
        started = time.perf_counter()
        log(f"== {part} ==")
        try:
            if part == "refund":
                db = fresh_copy(template, workdir / "db-refund")
                orders = template.refundable[:refund_orders]
                results[part] = await refund_field.measure(db, orders, args.refund_runs, args.refund_warmup, log)
            else:
                results[part] = await OVER_HTTP[part](workspace, args)
        except BrokenRun as exc:
            log(f"[{part}] broken, not measured: {exc}")
            results[part] = {"broken": str(exc)}
        results[part]["elapsed_s"] = round(time.perf_counter() - started, 1)
    shop = {"seeded_orders": template.seeded_orders, "refundable_orders_used": len(template.refundable)}
    return results, shop


def _parts(text: str) -> list[str]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    unknown = set(names) - set(PARTS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown parts {sorted(unknown)}; choose from {', '.join(PARTS)}")
    return [p for p in PARTS if p in names]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.llm_path", description=__doc__.split("\n\n")[0])
    p.add_argument("--parts", type=_parts, default=list(PARTS), help="comma list (default: all four)")
    g = p.add_argument_group("refund")
    g.add_argument("--refund-runs", type=int, default=5, help="measured runs per graph (default 5)")
    g.add_argument("--refund-warmup", type=int, default=1, help="warm-up runs per graph (default 1)")
    g = p.add_argument_group("mix and overhead")
    g.add_argument("--mix-requests", type=int, default=200, help="questions in the mix (default 200)")
    g.add_argument("--complex-share", type=float, default=0.22, help="share of complex questions (default 0.22)")
    g.add_argument("--baseline-requests", type=int, default=100, help="all-LLM stand-in questions (default 100)")
    g.add_argument("--mix-concurrency", type=int, default=8, help="default 8")
    g.add_argument("--mix-ttft-ms", type=float, default=300.0, help="simulator time to first token (default 300)")
    g.add_argument("--mix-tokens-per-s", type=float, default=50.0, help="simulator pacing (default 50)")
    g.add_argument("--overhead-runs", type=int, default=5, help="measured complex questions (default 5)")
    g = p.add_argument_group("concurrency")
    g.add_argument("--streams", type=int, default=1000, help="concurrent SSE streams (default 1000)")
    g.add_argument("--conc-ttft-ms", type=float, default=300.0, help="default 300 (3 calls: about 2 s in all)")
    g.add_argument("--conc-tokens-per-s", type=float, default=85.0, help="default 85")
    g.add_argument(
        "--conc-run-deadline-s",
        type=float,
        default=30.0,
        help="the server's SWITCHYARD_RUN_DEADLINE_S (default 30, its own default)",
    )
    g.add_argument("--critical-runs", type=int, default=3, help="runs of the question alone (default 3)")
    g.add_argument("--stream-timeout", type=float, default=150.0, help="seconds one stream may take (default 150)")
    add_output_options(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    started = time.perf_counter()
    outcome = run_in_workdir("switchyard-llm-bench-", args.keep_workdir, lambda workdir: bench(args, workdir))
    if outcome is None:
        return 1
    results, shop = outcome
    command = command_line("bench.llm_path", argv)
    meta = {
        "machine": machine_info(),
        "command": command,
        "shop": shop,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    table = llm_report.markdown(results)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = args.out / "llm_path.json", args.out / "llm_path.md"
    json_path.write_text(json.dumps({**meta, "parts": results}, indent=1, default=str) + "\n")
    md_path.write_text(llm_report.header(meta) + table)
    for path in (json_path, md_path):
        log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
