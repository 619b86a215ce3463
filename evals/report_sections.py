"""What the eval report says: a run record (`evals/RECORD.md`) turned into sections of plain-text tables.

`sections(record, failure_limit)` is the whole report in reading order: the headline metrics, the comparison with a
baseline (when the record has one), routing, tiers, latency and the failing cases. Every rate is shown with its
sample count, and a dash where there is none. Cells are plain, unescaped text taken from the record; the renderers
in `evals.report` escape them. A section may carry SVG figures (`evals.plots`), which only the HTML shows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evals import plots
from evals.plots import DASH

Record = Mapping[str, Any]
TIERS = ("rule", "classifier", "llm", "default")


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: Sequence[Sequence[str]]
    title: str = ""
    note: str = ""
    sortable: bool = False


@dataclass(frozen=True)
class Section:
    title: str
    tables: Sequence[Table]
    figures: Sequence[str] = ()  # SVG markup: the HTML shows it, markdown does not


def rate(metric: Mapping[str, Any] | None) -> str:
    """`91.2% (n=459)`, or a dash when there is no sample to stand on."""
    if not metric or not metric.get("n") or metric.get("value") is None:
        return DASH
    return f"{metric['value']:.1%} (n={metric['n']})"


def _percent(value: float | None) -> str:
    return DASH if value is None else f"{value:.1%}"


def _points(value: float | None) -> str:
    return DASH if value is None else f"{value:+.1f} pt"


def _ms(seconds: float | None) -> str:
    return DASH if seconds is None else plots.format_ms(seconds)


def _tokens(tokens: Mapping[str, Any]) -> str:
    if not tokens.get("n"):
        return DASH
    return f"{tokens.get('prompt', 0):,} prompt + {tokens.get('completion', 0):,} completion (n={tokens['n']})"


def _cost(cost: Mapping[str, Any]) -> str:
    if not cost.get("n"):
        return DASH
    return f"${cost.get('total', 0):.4f} total, ${cost.get('per_case', 0):.6f} per case (n={cost['n']})"


def _tier_order(tier: str) -> tuple[int, str]:
    """The cascade's order, then any other name alphabetically."""
    return (TIERS.index(tier) if tier in TIERS else len(TIERS), tier)


def header(record: Record) -> list[tuple[str, str]]:
    """What ran, on what, and how: (name, value) pairs for the top of the report."""
    run = record.get("run") or {}
    dataset = run.get("dataset") or {}
    settings = run.get("settings") or {}
    versions = run.get("versions") or {}
    models = ", ".join(f"{k}={settings[k]}" for k in ("router_model", "agent_model") if settings.get(k))
    simulated = run.get("llm_simulated")
    llm = DASH if simulated is None else ("simulated" if simulated else "real")
    return [
        ("started", str(run.get("started_at") or DASH)),
        ("git sha", str(run.get("git_sha") or "not a git checkout")),
        ("dataset", f"{dataset.get('path', DASH)} (sha256 {str(dataset.get('sha256') or DASH)[:12]})"),
        ("slice", f"{dataset.get('slice', DASH)}, {dataset.get('cases', DASH)} cases"),
        ("target", str(run.get("target") or DASH)),
        ("repetitions", f"{run.get('repetitions', DASH)} (concurrency {run.get('concurrency', DASH)})"),
        ("LLM", f"{llm} ({models})" if models else llm),
        ("elapsed", f"{run['elapsed_s']:.1f} s" if run.get("elapsed_s") is not None else DASH),
        ("settings", ", ".join(f"{k}={v}" for k, v in settings.items()) or DASH),
        ("versions", ", ".join(f"{k} {v}" for k, v in versions.items()) or DASH),
    ]


# The rates of the headline table, in reading order: record key, label, what the rate counts.
RATES = (
    ("route_accuracy", "route accuracy", "the route node chose the expected intent"),
    ("deterministic_precision", "deterministic-tier precision", "right when the rule or classifier tier answered"),
    ("trajectory_match", "trajectory match", "every superstep equal as a set"),
    ("task_success", "task success", "intent right and every outcome check passed"),
    ("pass_at_1", "pass@1", "per case: the first repetition succeeded"),
    ("pass_hat_k", "pass^k", "per case: every one of k repetitions succeeded"),
    ("llm_call_rate", "LLM call rate", "case runs with at least one LLM call"),
    ("degraded_share", "degraded share", "answers from a lower degradation rung"),
)
LABELS = {key: label for key, label, _ in RATES}


def headline(metrics: Mapping[str, Any]) -> Section:
    k = (metrics.get("pass_hat_k") or {}).get("k", "k")
    rows = [(label.replace("^k", f"^{k}"), rate(metrics.get(key)), counts) for key, label, counts in RATES]
    rows += [
        ("tokens", _tokens(metrics.get("tokens") or {}), "summed over case runs"),
        ("cost", _cost(metrics.get("cost_usd") or {}), "as priced by the LLM service"),
    ]
    return Section("Headline", [Table(("metric", "value", "what it counts"), rows)])


def comparison(record: Record) -> Section | None:
    compared = record.get("comparison")
    if not compared:
        return None
    rows = []
    for m in compared.get("metrics") or []:
        direction = "drop" if m.get("worse_is", "lower") == "lower" else "rise"
        threshold = m.get("threshold_points")
        rows.append(
            (
                LABELS.get(str(m.get("metric")), str(m.get("metric"))),
                f"{_percent(m.get('baseline'))} → {_percent(m.get('current'))}",
                _points(m.get("delta_points")),
                DASH if threshold is None else f"{direction} > {threshold:.1f} pt",
                "REGRESSED" if m.get("regressed") else "PASS",
            )
        )
    flipped = [
        (str(f.get("id")), str(f.get("field")), f"{f.get('baseline')} → {f.get('current')}")
        for f in compared.get("flipped") or []
    ]
    verdict = "PASS" if compared.get("passed") else "REGRESSED"
    return Section(
        f"Comparison with {compared.get('baseline', 'the baseline')}: {verdict}",
        [
            Table(("metric", "baseline → current", "delta", "fails when", "verdict"), rows),
            Table(("case", "field", "baseline → current"), flipped, title=f"Flipped cases ({len(flipped)})"),
        ],
    )


def routing(record: Record) -> Section:
    metrics = record.get("metrics") or {}
    per_intent = metrics.get("per_intent") or {}
    intents = Table(
        ("intent", "precision", "recall"),
        [(name, rate(m.get("precision")), rate(m.get("recall"))) for name, m in per_intent.items()],
        title="Per intent",
    )
    rows, columns, matrix = confusion_axes(metrics.get("confusion") or {})
    confusion = Table(
        ("expected \\ predicted", *columns),
        [(name, *(str(c) for c in counts)) for name, counts in zip(rows, matrix, strict=False)],
        title="Confusion (rows expected, columns predicted)",
    )
    figure = plots.heatmap(rows, columns, matrix, "Confusion: expected vs predicted intent") if matrix else ""
    return Section("Routing", [intents, confusion], [figure] if figure else [])


def confusion_axes(confusion: Mapping[str, Any]) -> tuple[list[str], list[str], list[list[int]]]:
    """Row and column names for the matrix; a column past the labels is the `error` column (intent null)."""
    labels, matrix = list(confusion.get("labels") or []), list(confusion.get("matrix") or [])
    width = max((len(row) for row in matrix), default=0)
    columns = labels[:width] + ["error"] * (width > len(labels))
    return labels[: len(matrix)], columns, matrix


def tiers(metrics: Mapping[str, Any]) -> Section:
    share, precision = metrics.get("tier_share") or {}, metrics.get("tier_precision") or {}
    names = sorted({**share, **precision}, key=_tier_order)
    table = Table(("tier", "share", "precision"), [(t, rate(share.get(t)), rate(precision.get(t))) for t in names])
    bars = {t: ((share.get(t) or {}).get("value"), (share.get(t) or {}).get("n") or 0) for t in names}
    return Section("Tiers", [table], [plots.share_bars(bars, "Tier share")] if bars else [])


def latency(record: Record) -> Section:
    measured = (record.get("metrics") or {}).get("latency_s") or {}

    def table(title: str, groups: Mapping[str, Any]) -> Table:
        rows = [
            (name, _ms(p.get("p50")), _ms(p.get("p95")), _ms(p.get("p99")), str(p.get("n", 0)))
            for name, p in groups.items()
        ]
        return Table(("", "p50 ms", "p95 ms", "p99 ms", "n"), rows, title=title)

    by_tier: dict[str, list[float]] = defaultdict(list)
    by_intent: dict[str, list[float]] = defaultdict(list)
    for case in record.get("cases") or []:
        if case.get("latency_s") is not None:
            by_tier[case.get("tier") or "none (error)"].append(case["latency_s"])
            by_intent[str(case.get("expected_intent"))].append(case["latency_s"])
    ordered_tiers = {tier: by_tier[tier] for tier in sorted(by_tier, key=_tier_order)}
    return Section(
        "Latency",
        [
            table("Per tier", {"all": measured.get("all") or {}, **(measured.get("by_tier") or {})}),
            table("Per intent (expected)", measured.get("by_intent") or {}),
        ],
        [
            plots.latency_strips(ordered_tiers, "Latency per tier"),
            plots.latency_strips(dict(sorted(by_intent.items())), "Latency per expected intent"),
        ],
    )


def path_diff(expected: Sequence[Sequence[str]], actual: Sequence[Sequence[str]] | None) -> str:
    """The paths from the first superstep that differs: `after guard → route: expected a → b, got c`."""
    want, got = [set(s) for s in expected], [set(s) for s in actual or []]
    same = next((i for i, (w, g) in enumerate(zip(want, got, strict=False)) if w != g), min(len(want), len(got)))

    def steps(path: list[set[str]]) -> str:
        return (
            " → ".join(next(iter(s)) if len(s) == 1 else "{" + ", ".join(sorted(s)) + "}" for s in path) or "(nothing)"
        )

    prefix = f"after {steps(want[:same])}: " if same else ""
    return f"{prefix}expected {steps(want[same:])}, got {steps(got[same:])}"


def _failure(case: Mapping[str, Any], several_repetitions: bool) -> tuple[str, ...]:
    """case, expected → got, tier, what failed, the failed checks' details and the error, the path difference."""
    checks = [check for check in case.get("checks") or [] if not check.get("passed")]
    failed = ["intent"] * (not case.get("intent_ok")) + ["path"] * (not case.get("path_ok"))
    failed += ["error"] * bool(case.get("error")) + [str(check.get("kind")) for check in checks]
    details = [f"{check.get('kind')}: {check.get('detail', '')}" for check in checks]
    details += [f"error: {case['error']}"] if case.get("error") else []
    return (
        f"{case.get('id')}#{case.get('repetition', 0)}" if several_repetitions else str(case.get("id")),
        f"{case.get('expected_intent')} → {case.get('intent') or 'error'}",
        str(case.get("tier") or DASH),
        ", ".join(failed),
        "; ".join(details) or DASH,
        DASH if case.get("path_ok") else path_diff(case.get("expected_path") or [], case.get("path")),
    )


def failing_cases(record: Record, limit: int) -> Section:
    """Case runs that did not succeed, crashed or took another path, ordered by id and repetition."""
    failing = sorted(
        (c for c in record.get("cases") or [] if not c.get("success") or not c.get("path_ok") or c.get("error")),
        key=lambda c: (str(c.get("id")), c.get("repetition") or 0),
    )
    several = ((record.get("run") or {}).get("repetitions") or 1) > 1
    rows = [_failure(case, several) for case in failing[:limit]]
    rest = len(failing) - len(rows)
    table = Table(
        ("case", "expected → got", "tier", "failed", "detail", "path"),
        rows,
        note=f"… and {rest} more." if rest > 0 else ("" if rows else "No failing cases."),
        sortable=True,
    )
    return Section(f"Failing cases ({len(failing)} of {len(record.get('cases') or [])} case runs)", [table])


def sections(record: Record, failure_limit: int) -> list[Section]:
    metrics = record.get("metrics") or {}
    listed = [headline(metrics), comparison(record), routing(record), tiers(metrics), latency(record)]
    return [s for s in listed if s is not None] + [failing_cases(record, failure_limit)]
