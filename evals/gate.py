"""The regression gate: a run record against a baseline record (`switchyard eval --compare evals/baseline.json`).

Both sides are measured on the case runs they share (same case id and repetition), so a run of the whole
dataset can be gated against the deterministic-slice baseline: the gated metrics are recomputed on the shared
rows of each record. A metric regresses when it moves the wrong way by more than its threshold, in percentage
points. A flipped case is a shared case whose `intent_ok` or `success` changed on repetition 0, either way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from evals import metrics

FLIP_FIELDS = ("intent_ok", "success")


@dataclass(frozen=True)
class Threshold:
    metric: str
    measure: Callable[[Sequence[metrics.Row]], dict[str, Any]]
    points: float
    worse_is: Literal["lower", "higher"]


THRESHOLDS = (
    Threshold("route_accuracy", metrics.route_accuracy, 1.0, "lower"),
    Threshold("deterministic_precision", metrics.deterministic_precision, 0.5, "lower"),
    Threshold("task_success", metrics.task_success, 1.0, "lower"),
    Threshold("llm_call_rate", metrics.llm_call_rate, 2.0, "higher"),
)


class GateError(ValueError):
    """The two records cannot be compared (no case run in common)."""


def _key(row: Mapping[str, Any]) -> tuple[str, int]:
    return row["id"], row["repetition"]


def _judge(threshold: Threshold, before: float | None, now: float | None) -> dict[str, Any]:
    delta = None if before is None or now is None else round((now - before) * 100, 4)
    worse = None if delta is None else -delta if threshold.worse_is == "lower" else delta
    return {
        "metric": threshold.metric,
        "baseline": before,
        "current": now,
        "delta_points": delta,
        "threshold_points": threshold.points,
        "worse_is": threshold.worse_is,
        "regressed": worse is not None and worse > threshold.points,
    }


def compare(record: Mapping[str, Any], baseline: Mapping[str, Any], *, source: str = "baseline") -> dict[str, Any]:
    """The `comparison` object of the run record; `source` names the baseline (its path)."""
    before = {_key(row): row for row in baseline["cases"]}
    now = {_key(row): row for row in record["cases"]}
    shared = [key for key in before if key in now]
    if not shared:
        raise GateError("the run and the baseline have no case run in common; were they made from the same dataset?")
    before_rows, now_rows = [before[key] for key in shared], [now[key] for key in shared]
    judged = [_judge(t, t.measure(before_rows)["value"], t.measure(now_rows)["value"]) for t in THRESHOLDS]
    flipped = [
        {"id": key[0], "field": field, "baseline": before[key][field], "current": now[key][field]}
        for key in shared
        if key[1] == 0
        for field in FLIP_FIELDS
        if before[key][field] != now[key][field]
    ]
    return {
        "baseline": source,
        "passed": not any(m["regressed"] for m in judged),
        "metrics": judged,
        "flipped": flipped,
    }


def render(comparison: Mapping[str, Any]) -> str:
    """The comparison as text: every gated metric, then the flipped cases."""
    verdict = "passed" if comparison["passed"] else "FAILED"
    lines = [f"gate against {comparison['baseline']}: {verdict}"]
    for m in comparison["metrics"]:
        values = f"{_pct(m['baseline'])} -> {_pct(m['current'])}"
        delta = "n/a" if m["delta_points"] is None else f"{m['delta_points']:+.2f} pt"
        mark = "REGRESSED" if m["regressed"] else "ok"
        limit = f"(fails when {m['worse_is']} by > {m['threshold_points']} pt)"
        lines.append(f"  {m['metric']:<24} {values:<18} {delta:>10}  {mark:<9} {limit}")
    if comparison["flipped"]:
        lines.append(f"flipped cases ({len(comparison['flipped'])}, repetition 0):")
        for f in comparison["flipped"]:
            lines.append(f"  {f['id']:<8} {f['field']:<10} {f['baseline']} -> {f['current']}")
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"
