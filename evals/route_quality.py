"""Routing quality of the deterministic tiers on the labelled dev set.

    python -m evals.route_quality [--dataset PATH] [--json]

For "rules" and "rules+classifier" it prints coverage (share answered by a deterministic tier), precision of
those answers, overall accuracy with the default counted as `complex`, per-intent precision and recall, and
every wrong deterministic answer. A deterministic tier that answers must be right, so precision is the number
to defend; coverage is what it buys.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from routers.cascade import decide, make_query
from routers.classifier import classifier_tier
from routers.rules import rule_tier
from routers.types import INTENTS, Intent, TierFunction

DATASET = Path(__file__).parent / "datasets" / "routing_dev.jsonl"
CONFIGS: dict[str, tuple[TierFunction, ...]] = {
    "rules": (rule_tier,),
    "rules+classifier": (rule_tier, classifier_tier),
}


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    previous_intent: Intent | None
    intent: Intent


@dataclass
class Report:
    name: str
    cases: int
    answered: int
    correct_answered: int
    correct: int
    per_intent: dict[str, dict[str, float]] = field(default_factory=dict)
    by_tier: dict[str, int] = field(default_factory=dict)
    wrong: list[dict[str, str]] = field(default_factory=list)

    @property
    def coverage(self) -> float:
        return self.answered / self.cases if self.cases else 0.0

    @property
    def precision(self) -> float:
        return self.correct_answered / self.answered if self.answered else 1.0

    @property
    def accuracy(self) -> float:
        return self.correct / self.cases if self.cases else 0.0


def load_cases(path: Path = DATASET) -> list[Case]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            cases.append(Case(row["id"], row["text"], row.get("previous_intent"), row["intent"]))
    return cases


async def evaluate(name: str, cases: Sequence[Case], tiers: Sequence[TierFunction]) -> Report:
    report = Report(name=name, cases=len(cases), answered=0, correct_answered=0, correct=0)
    predicted: list[tuple[Intent, Intent]] = []  # (expected, got) with the default counted as complex
    for case in cases:
        decision = await decide(make_query(case.text, case.previous_intent), tiers)
        report.by_tier[decision["tier"]] = report.by_tier.get(decision["tier"], 0) + 1
        ok = decision["intent"] == case.intent
        report.correct += ok
        predicted.append((case.intent, decision["intent"]))
        if decision["tier"] == "default":
            continue
        report.answered += 1
        report.correct_answered += ok
        if not ok:
            report.wrong.append(
                {"id": case.id, "text": case.text, "expected": case.intent, "got": decision["intent"],
                 "tier": decision["tier"], "reason": decision["reason"]}
            )  # fmt: skip
    for intent in INTENTS:
        tp = sum(1 for exp, got in predicted if exp == got == intent)
        n_pred = sum(1 for _, got in predicted if got == intent)
        n_true = sum(1 for exp, _ in predicted if exp == intent)
        report.per_intent[intent] = {
            "precision": tp / n_pred if n_pred else 1.0,
            "recall": tp / n_true if n_true else 1.0,
            "support": n_true,
        }
    return report


def render(report: Report) -> str:
    lines = [
        f"== {report.name} ({report.cases} cases)",
        f"coverage (deterministic)  {report.coverage:6.1%}  ({report.answered}/{report.cases})",
        f"precision (deterministic) {report.precision:6.1%}  ({report.correct_answered}/{report.answered})",
        f"accuracy (default=complex) {report.accuracy:5.1%}  ({report.correct}/{report.cases})",
        "answered by tier          " + ", ".join(f"{k}={v}" for k, v in sorted(report.by_tier.items())),
        f"{'intent':<16}{'precision':>10}{'recall':>8}{'n':>5}",
    ]
    for intent, m in report.per_intent.items():
        lines.append(f"{intent:<16}{m['precision']:>10.2f}{m['recall']:>8.2f}{int(m['support']):>5}")
    lines.append(f"wrong deterministic answers: {len(report.wrong)}")
    for w in report.wrong:
        lines.append(f"  {w['id']:<6} {w['expected']:>14} -> {w['got']:<14} [{w['tier']}] {w['text']!r}")
        lines.append(f"         {w['reason']}")
    return "\n".join(lines)


async def run(path: Path) -> list[Report]:
    cases = load_cases(path)
    return [await evaluate(name, cases, tiers) for name, tiers in CONFIGS.items()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.route_quality", description="Routing quality")
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    args = parser.parse_args(argv)
    reports = asyncio.run(run(args.dataset))
    if args.json:
        out = [asdict(r) | {"coverage": r.coverage, "precision": r.precision, "accuracy": r.accuracy} for r in reports]
        print(json.dumps(out, indent=2))
    else:
        print("\n\n".join(render(r) for r in reports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
