"""The run record's `metrics`, computed from its case rows (pure functions; the shapes are in evals/RECORD.md).

A row is one run of one case (`evals.experiment.case_row`). Every rate is `{"value": ..., "n": ...}` where `n` is
the number of rows (or cases) it stands on; with `n == 0` the value is `null`, never a made-up 0 or 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from routers.types import INTENTS

Row = Mapping[str, Any]
TIERS = ("rule", "classifier", "llm", "default")
DETERMINISTIC_TIERS = ("rule", "classifier")


def rate(hits: int, n: int) -> dict[str, Any]:
    return {"value": round(hits / n, 6) if n else None, "n": n}


def share(rows: Sequence[Row], predicate: Callable[[Row], bool]) -> dict[str, Any]:
    return rate(sum(1 for row in rows if predicate(row)), len(rows))


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default), `q` in [0, 100]."""
    position = (len(sorted_values) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def latency(values: Iterable[float]) -> dict[str, Any]:
    ordered = sorted(values)
    if not ordered:
        return {"p50": None, "p95": None, "p99": None, "n": 0}
    return {f"p{q}": round(percentile(ordered, q), 6) for q in (50, 95, 99)} | {"n": len(ordered)}


def per_intent(rows: Sequence[Row]) -> dict[str, dict[str, Any]]:
    """Precision over the rows routed to the intent, recall over the rows that expected it."""
    result: dict[str, dict[str, Any]] = {}
    for intent in INTENTS:
        predicted = [row for row in rows if row["intent"] == intent]
        expected = [row for row in rows if row["expected_intent"] == intent]
        result[intent] = {
            "precision": share(predicted, lambda row: row["intent_ok"]),
            "recall": share(expected, lambda row: row["intent_ok"]),
        }
    return result


def confusion(rows: Sequence[Row]) -> dict[str, Any]:
    """Rows are the expected intents, columns the routed ones, in `INTENTS` order; a final `error` column
    appears when some run has no routing decision (it crashed, or routed to an unknown intent)."""
    labels = list(INTENTS)
    column = {intent: index for index, intent in enumerate(labels)}
    errors = any(row["intent"] not in column for row in rows)
    matrix = [[0] * (len(labels) + errors) for _ in labels]
    for row in rows:
        matrix[column[row["expected_intent"]]][column.get(row["intent"], len(labels))] += 1
    return {"labels": labels, "matrix": matrix}


def precision_of_tiers(rows: Sequence[Row], tiers: Sequence[str]) -> dict[str, Any]:
    """Accuracy of the rows whose routing decision came from one of `tiers`."""
    return share([row for row in rows if row["tier"] in tiers], lambda row: row["intent_ok"])


def route_accuracy(rows: Sequence[Row]) -> dict[str, Any]:
    return share(rows, lambda row: row["intent_ok"])


def deterministic_precision(rows: Sequence[Row]) -> dict[str, Any]:
    """When the rule or classifier tier answers, it must be right."""
    return precision_of_tiers(rows, DETERMINISTIC_TIERS)


def task_success(rows: Sequence[Row]) -> dict[str, Any]:
    return share(rows, lambda row: row["success"])


def llm_call_rate(rows: Sequence[Row]) -> dict[str, Any]:
    """Share of case runs with at least one LLM call."""
    return share(rows, lambda row: row["llm_calls"] > 0)


def pass_at_1(rows: Sequence[Row]) -> dict[str, Any]:
    first = [row for row in rows if row["repetition"] == 0]
    return share(first, lambda row: row["success"])


def pass_hat_k(rows: Sequence[Row]) -> dict[str, Any]:
    """Per case: every one of its repetitions succeeded. `k` is the most repetitions any case had."""
    by_case: dict[str, list[bool]] = {}
    for row in rows:
        by_case.setdefault(row["id"], []).append(row["success"])
    k = max((len(runs) for runs in by_case.values()), default=0)
    return rate(sum(1 for runs in by_case.values() if all(runs)), len(by_case)) | {"k": k}


def latencies(rows: Sequence[Row]) -> dict[str, Any]:
    def grouped(key: str, groups: Iterable[str]) -> dict[str, Any]:
        return {g: latency(row["latency_s"] for row in rows if row[key] == g) for g in groups}

    return {
        "all": latency(row["latency_s"] for row in rows),
        "by_intent": grouped("expected_intent", INTENTS),
        "by_tier": grouped("tier", TIERS),
    }


def compute(rows: Sequence[Row]) -> dict[str, Any]:
    """The `metrics` object of the run record."""
    n = len(rows)
    cost = sum(row["cost_usd"] for row in rows)
    return {
        "route_accuracy": route_accuracy(rows),
        "per_intent": per_intent(rows),
        "confusion": confusion(rows),
        "tier_share": {tier: rate(sum(1 for row in rows if row["tier"] == tier), n) for tier in TIERS},
        "llm_call_rate": llm_call_rate(rows),
        "deterministic_precision": deterministic_precision(rows),
        "tier_precision": {tier: precision_of_tiers(rows, (tier,)) for tier in TIERS},
        "trajectory_match": share(rows, lambda row: row["path_ok"]),
        "task_success": task_success(rows),
        "pass_at_1": pass_at_1(rows),
        "pass_hat_k": pass_hat_k(rows),
        "latency_s": latencies(rows),
        "tokens": {
            "prompt": sum(row["prompt_tokens"] for row in rows),
            "completion": sum(row["completion_tokens"] for row in rows),
            "n": n,
        },
        "cost_usd": {"total": round(cost, 8), "per_case": round(cost / n, 8) if n else None, "n": n},
        "degraded_share": share(rows, lambda row: row["degraded"] is not None),
    }
