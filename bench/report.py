"""Numbers of the fast-path benchmark: per-cell results, medians across repeats, ratios,
targets, and the two result files (JSON with everything, Markdown with the table)."""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.common import percentile

LABELS = {
    "a": "a in-process",
    "b": "b switchyard",
    "c": "c langgraph dev",
    "r1": "r1 scale-out, 1 process",
    "r2": "r2 scale-out, 2 processes",
    "k": "k switchyard, API keys on",
}


@dataclass
class CellRun:
    """One repeat of one (setup, concurrency) cell; warm-up runs are not in it."""

    setup: str
    concurrency: int
    repeat: int
    planned: int
    wall_s: float
    latencies: list[float] = field(default_factory=list)
    ttfes: list[float] = field(default_factory=list)

    @property
    def runs(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.runs / self.wall_s if self.wall_s > 0 else math.nan

    def metrics(self) -> dict[str, float]:
        return {
            "throughput": self.throughput,
            "p50": percentile(self.latencies, 50),
            "p99": percentile(self.latencies, 99),
            "ttfe_p50": percentile(self.ttfes, 50),
        }

    def to_json(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["latencies"] = [round(x, 5) for x in self.latencies]
        raw["ttfes"] = [round(x, 5) for x in self.ttfes]
        return {**raw, "runs": self.runs, "time_bound_hit": self.runs < self.planned, **self.metrics()}


Summary = dict[tuple[str, int], dict[str, float]]


def summarize(cells: list[CellRun]) -> Summary:
    """Per (setup, concurrency): the median of each metric across repeats, and all runs counted."""
    grouped: dict[tuple[str, int], list[CellRun]] = {}
    for cell in cells:
        grouped.setdefault((cell.setup, cell.concurrency), []).append(cell)
    summary: Summary = {}
    for key, repeats in grouped.items():
        metrics = [r.metrics() for r in repeats]
        summary[key] = {name: statistics.median(m[name] for m in metrics) for name in metrics[0]}
        summary[key]["runs"] = sum(r.runs for r in repeats)
    return summary


@dataclass(frozen=True)
class Target:
    """`numerator` / `denominator` at `concurrency` must be at most (or at least) `bound`."""

    concurrency: int
    numerator: tuple[str, str]  # (setup, metric)
    denominator: tuple[str, str]
    at_most: bool
    bound: float
    text: str


TARGETS = (
    Target(1, ("b", "p50"), ("a", "p50"), True, 1.2, "c=1: p50(b) <= 1.2x p50(a)"),
    Target(64, ("b", "throughput"), ("a", "throughput"), False, 0.8, "c=64: runs/s(b) >= 0.8x runs/s(a)"),
    Target(64, ("b", "throughput"), ("c", "throughput"), False, 4.0, "c=64: runs/s(b) >= 4x runs/s(c)"),
    Target(64, ("b", "p99"), ("b", "p50"), True, 3.0, "c=64: p99(b) <= 3x p50(b)"),
    Target(64, ("r2", "throughput"), ("r1", "throughput"), False, 1.7, "c=64: runs/s(r2) >= 1.7x runs/s(r1)"),
)


def ratio(summary: Summary, concurrency: int, numerator: tuple[str, str], denominator: tuple[str, str]) -> float | None:
    top = summary.get((numerator[0], concurrency), {}).get(numerator[1])
    bottom = summary.get((denominator[0], concurrency), {}).get(denominator[1])
    if top is None or not bottom or math.isnan(top) or math.isnan(bottom):
        return None
    return top / bottom


def verdicts(summary: Summary) -> list[dict[str, Any]]:
    out = []
    for t in TARGETS:
        value = ratio(summary, t.concurrency, t.numerator, t.denominator)
        ok = None if value is None else (value <= t.bound if t.at_most else value >= t.bound)
        out.append({"target": t.text, "ratio": value, "verdict": {None: "n/a", True: "PASS", False: "MISS"}[ok]})
    return out


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.1f}"


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def markdown(summary: Summary, concurrencies: list[int], setups: list[str], repeat: int) -> str:
    lines = [
        f"Medians across {repeat} repeat(s). runs/s = completed runs / wall time of the cell.",
        "",
        "| setup | conc | runs | runs/s | p50 ms | p99 ms | TTFE p50 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for c in concurrencies:
        for s in setups:
            m = summary.get((s, c))
            if m is not None:
                lines.append(
                    f"| {LABELS[s]} | {c} | {int(m['runs'])} | {m['throughput']:.1f} | "
                    f"{_ms(m['p50'])} | {_ms(m['p99'])} | {_ms(m['ttfe_p50'])} |"
                )
    lines += ["", "| conc | runs/s b/a | p50 b/a | runs/s b/c | p50 b/c |", "|---:|---:|---:|---:|---:|"]
    for c in concurrencies:
        cols = [ratio(summary, c, ("b", m), (d, m)) for d in ("a", "c") for m in ("throughput", "p50")]
        lines.append(f"| {c} | " + " | ".join(_x(v) for v in cols) + " |")
    if any(s in setups for s in ("r1", "r2")):
        lines += ["", "| conc | runs/s r2/r1 | p50 r2/r1 | runs/s r1/b | p50 r1/b |", "|---:|---:|---:|---:|---:|"]
        for c in concurrencies:
            cols = [
                ratio(summary, c, (n, m), (d, m)) for n, d in (("r2", "r1"), ("r1", "b")) for m in ("throughput", "p50")
            ]
            lines.append(f"| {c} | " + " | ".join(_x(v) for v in cols) + " |")
    if "k" in setups:
        lines += ["", "| conc | runs/s k/b | p50 k/b |", "|---:|---:|---:|"]
        for c in concurrencies:
            cols = [ratio(summary, c, ("k", m), ("b", m)) for m in ("throughput", "p50")]
            lines.append(f"| {c} | " + " | ".join(_x(v) for v in cols) + " |")
    lines += ["", "Targets:", ""]
    lines += [f"- {v['verdict']} {v['target']}: {_x(v['ratio'])}" for v in verdicts(summary) if v["ratio"] is not None]
    return "\n".join(lines) + "\n"


def write(
    out: Path, table: str, meta: dict[str, Any], cells: list[CellRun], summary: Summary, name: str = "fast_path"
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    data = {
        **meta,
        "summary": [{"setup": s, "concurrency": c, **m} for (s, c), m in sorted(summary.items())],
        "targets": verdicts(summary),
        "cells": [cell.to_json() for cell in cells],
    }
    json_path, md_path = out / f"{name}.json", out / f"{name}.md"
    json_path.write_text(json.dumps(data, indent=1, default=str) + "\n")
    machine = meta["machine"]
    header = (
        f"# Fast path: refund request, {' vs '.join(LABELS[s] for s in meta['setups'])}\n\n"
        f"{machine['timestamp']}, {machine['cpu_count']} CPUs, Python {machine['python']}, "
        f"langgraph {machine['versions']['langgraph']}, git {machine['git_sha'] or '?'}\n\n"
        f"Command: `{meta['command']}`\n\n"
    )
    md_path.write_text(header + table)
    return [json_path, md_path]
