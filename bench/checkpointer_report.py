"""Numbers of the checkpointer benchmark: medians over repeats, the per-run checkpoint cost of each
option against `none`, its ratio to `memory`'s, and the two result files."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

TARGET = ("redis", 2.0)  # the target: our Redis saver within 2x of InMemorySaver's cost per run


def summarize(cells: list[dict[str, Any]], options: list[str]) -> list[dict[str, Any]]:
    """Per option and concurrency: medians over repeats."""
    summary = []
    for option in options:
        for concurrency in sorted({c["concurrency"] for c in cells}):
            group = [c for c in cells if c["option"] == option and c["concurrency"] == concurrency]
            if group:
                cell = {"option": option, "concurrency": concurrency, "runs": group[0]["runs"], "repeats": len(group)}
                metrics = ("runs_per_s", "mean_ms", "p50_ms", "p99_ms")
                summary.append(cell | {k: statistics.median(c[k] for c in group) for k in metrics})
    return summary


def checkpoint_costs(cells: list[dict[str, Any]], options: list[str]) -> list[dict[str, Any]]:
    """Per option: mean run latency at concurrency 1 minus `none`'s in the same repeat, median over
    repeats, and its ratio to `memory`'s. Empty without `none` or concurrency 1."""
    at_1 = {(c["option"], c["repeat"]): c["mean_ms"] for c in cells if c["concurrency"] == 1}
    floor = {repeat: ms for (option, repeat), ms in at_1.items() if option == "none"}
    if not floor:
        return []
    costs = []
    for option in options:
        per_repeat = [ms - floor[r] for (o, r), ms in at_1.items() if o == option and r in floor]
        means = [ms for (o, _), ms in at_1.items() if o == option]
        costs.append(
            {
                "option": option,
                "mean_ms": statistics.median(means),
                "cost_ms": statistics.median(per_repeat),
                "cost_min_ms": min(per_repeat),
                "cost_max_ms": max(per_repeat),
            }
        )
    memory = next((c["cost_ms"] for c in costs if c["option"] == "memory"), None)
    for c in costs:
        c["vs_memory"] = c["cost_ms"] / memory if memory and memory > 0 else None
    return costs


def throughput_table(summary: list[dict[str, Any]]) -> str:
    lines = [
        "| option | conc | runs | runs/s | mean ms | p50 ms | p99 ms | runs/s vs stock-normal |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    base = {c["concurrency"]: c["runs_per_s"] for c in summary if c["option"] == "stock-normal"}
    for c in summary:
        ref = base.get(c["concurrency"])
        vs = f"{c['runs_per_s'] / ref:.2f}x" if ref else "-"
        lines.append(
            f"| {c['option']} | {c['concurrency']} | {c['runs']} | {c['runs_per_s']:.1f} | {c['mean_ms']:.1f} | "
            f"{c['p50_ms']:.1f} | {c['p99_ms']:.1f} | {vs} |"
        )
    return "\n".join(lines)


def cost_table(costs: list[dict[str, Any]]) -> str:
    if not costs:
        return "No checkpoint cost: it needs option `none` and concurrency 1 in the same run."
    lines = [
        "| option | mean ms/run (c=1) | checkpoint ms/run | min..max over repeats | vs memory |",
        "|---|---:|---:|---:|---:|",
    ]
    for c in costs:
        vs = "-" if c["option"] == "none" or c["vs_memory"] is None else f"{c['vs_memory']:.2f}x"
        lines.append(
            f"| {c['option']} | {c['mean_ms']:.2f} | {c['cost_ms']:.2f} | "
            f"{c['cost_min_ms']:.2f}..{c['cost_max_ms']:.2f} | {vs} |"
        )
    option, bound = TARGET
    ratio = next((c["vs_memory"] for c in costs if c["option"] == option), None)
    if ratio is not None:
        verdict = "PASS" if ratio <= bound else "MISS"
        lines.append(f"\nTarget: {option} checkpoint ms/run <= {bound:g}x memory's: {verdict} ({ratio:.2f}x)")
    return "\n".join(lines)


def markdown(summary: list[dict[str, Any]], costs: list[dict[str, Any]]) -> str:
    return f"{throughput_table(summary)}\n\nPer-run checkpoint cost, concurrency 1:\n\n{cost_table(costs)}"


def write(out: Path, text: str, heading: str, meta: dict[str, Any], results: dict[str, Any]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    md, js = out / "checkpointers.md", out / "checkpointers.json"
    md.write_text(f"# Checkpointer options, refund path in-process\n\n{heading}\n\n{text}\n")
    js.write_text(json.dumps({**meta, **results}, indent=2))
    return [md, js]
