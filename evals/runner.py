"""`switchyard eval` (also `python -m evals.runner`): run a dataset against a target, score it, write the record.

    switchyard eval [--dataset PATH] [--slice all|deterministic|llm] [--target inproc|URL] [--repetitions K]
                    [--concurrency N] [--out DIR] [--compare BASELINE] [--write-baseline PATH] [--upload]

It writes `<out>/eval.json` (the run record, evals/RECORD.md) and the markdown and HTML reports, prints a
summary, and with `--compare` exits 1 when the gate finds a regression (evals/gate.py). Scoring runs through
langsmith's `aevaluate` and stays offline unless `--upload` is given (evals/experiment.py). See evals/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TextIO

from langsmith import Client

from evals import gate, metrics
from evals.cases import Case, load_cases
from evals.experiment import run_experiment, to_examples
from evals.inproc import InprocTarget, seed_shop_template
from evals.observation import Target
from evals.remote import HttpTarget, writes_to_shop

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT / "evals" / "datasets" / "support.jsonl"
SLICES = ("all", "deterministic", "llm")
PACKAGES = (
    "switchyard",
    "langgraph",
    "langchain-core",
    "langchain-openai",
    "langsmith",
    "langgraph-sdk",
    "openevals",
    "agentevals",
)


def select(cases: Sequence[Case], slice_: str) -> list[Case]:
    """`deterministic`: the `llm: false` cases (what CI gates); `llm`: the others."""
    return [c for c in cases if slice_ == "all" or c.llm == (slice_ == "llm")]


def dataset_info(path: Path, slice_: str, cases: Sequence[Case]) -> dict[str, Any]:
    try:
        shown = str(path.resolve().relative_to(ROOT))
    except ValueError:
        shown = str(path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"path": shown, "sha256": sha, "cases": len(cases), "slice": slice_}


def git_sha() -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip() or None


def versions() -> dict[str, str | None]:
    def of(package: str) -> str | None:
        try:
            return version(package)
        except PackageNotFoundError:
            return None

    return {**{p: of(p) for p in PACKAGES}, "python": platform.python_version()}


async def run_dataset(
    cases: Sequence[Case],
    target: Target,
    dataset: dict[str, Any],
    *,
    repetitions: int = 1,
    concurrency: int = 4,
    client: Client | None = None,
    data: Any = None,
    progress: TextIO | None = sys.stderr,
) -> dict[str, Any]:
    """Run `cases` against `target` and return the run record (evals/RECORD.md), `comparison` still null."""
    started_at, started = datetime.now(UTC), time.perf_counter()
    described = await target.describe()
    rows = await run_experiment(
        cases,
        target,
        dataset_sha256=dataset["sha256"],
        repetitions=repetitions,
        concurrency=concurrency,
        client=client,
        data=data,
        progress=progress,
    )
    run = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "elapsed_s": round(time.perf_counter() - started, 3),
        "git_sha": git_sha(),
        "dataset": dataset,
        "target": target.name,
        "repetitions": repetitions,
        "concurrency": concurrency,
        "llm_simulated": described["llm_simulated"],
        "settings": described["settings"],
        "versions": versions(),
    }
    return {"schema": 1, "run": run, "cases": rows, "metrics": metrics.compute(rows), "comparison": None}


def summary(record: dict[str, Any]) -> str:
    """The headline numbers, each with its n."""
    m, run = record["metrics"], record["run"]

    def pct(entry: dict[str, Any]) -> str:
        return "n/a" if entry["value"] is None else f"{entry['value']:.1%} (n={entry['n']})"

    lat = m["latency_s"]["all"]
    tiers = ", ".join(f"{tier} {pct(entry)}" for tier, entry in m["tier_share"].items())
    errors = sum(1 for row in record["cases"] if row["error"])
    lines = [
        f"eval: {len(record['cases'])} case runs ({run['dataset']['slice']} slice of {run['dataset']['path']}, "
        f"k={run['repetitions']}) against {run['target']} in {run['elapsed_s']:.1f} s; "
        f"LLM {'simulated' if run['llm_simulated'] else 'real'}; {errors} errors",
        f"  route accuracy           {pct(m['route_accuracy'])}",
        f"  deterministic precision  {pct(m['deterministic_precision'])}",
        f"  tier share               {tiers}",
        f"  LLM call rate            {pct(m['llm_call_rate'])}",
        f"  trajectory match         {pct(m['trajectory_match'])}",
        f"  task success             {pct(m['task_success'])}",
        f"  {'pass@1 / pass^' + str(m['pass_hat_k']['k']):<25}{pct(m['pass_at_1'])} / {pct(m['pass_hat_k'])}",
        f"  latency p50/p95/p99      {_ms(lat['p50'])} / {_ms(lat['p95'])} / {_ms(lat['p99'])} (n={lat['n']})",
        f"  tokens                   {m['tokens']['prompt']} prompt + {m['tokens']['completion']} completion, "
        f"${m['cost_usd']['total']:.4f}",
        f"  degraded answers         {pct(m['degraded_share'])}",
    ]
    return "\n".join(lines)


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.1f} ms"


def baseline_of(record: dict[str, Any]) -> dict[str, Any]:
    """The record as committed for the gate: the check details (answer excerpts) are dropped to keep it small."""
    rows = [
        {**row, "checks": [{"kind": c["kind"], "passed": c["passed"]} for c in row["checks"]]}
        for row in record["cases"]
    ]
    return {**record, "cases": rows, "comparison": None}


def dumps_record(record: dict[str, Any]) -> str:
    """The record as indented JSON, one line per case row, so a diff of two records shows the cases that changed."""
    placeholder = "\u0000cases\u0000"
    rows = ",\n  ".join(json.dumps(row, separators=(",", ":")) for row in record["cases"])
    text = json.dumps({**record, "cases": placeholder}, indent=1)
    return text.replace(json.dumps(placeholder), f"[\n  {rows}\n ]") + "\n"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="switchyard eval", description="Offline evals of the support graph.")
    p.add_argument("--dataset", type=Path, default=DATASET, help="JSONL cases (default: the support set)")
    p.add_argument("--slice", choices=SLICES, default="all", help="deterministic: the llm=false cases")
    p.add_argument("--target", default="inproc", help="inproc (default) or the base URL of a running server")
    p.add_argument("--repetitions", type=int, default=1, help="runs per case (pass^k)")
    p.add_argument("--concurrency", type=int, default=4, help="case runs at once")
    p.add_argument("--out", type=Path, default=Path("evals/results"), help="where eval.json and reports go")
    p.add_argument("--compare", type=Path, help="gate against this baseline record; exit 1 on a regression")
    p.add_argument("--write-baseline", type=Path, help="also write the record as a baseline here")
    p.add_argument("--upload", action="store_true", help="upload the experiment to LangSmith (LANGSMITH_API_KEY)")
    return p


async def _upload_dataset(client: Client, cases: Sequence[Case], dataset: dict[str, Any]) -> str:
    """The LangSmith dataset holding these cases, created on first use; named after the file, slice and hash."""
    name = f"switchyard-{Path(dataset['path']).stem}-{dataset['slice']}-{dataset['sha256'][:12]}"
    if not await asyncio.to_thread(client.has_dataset, dataset_name=name):
        created = await asyncio.to_thread(client.create_dataset, name, description="Switchyard eval cases")
        examples = [
            {"id": e.id, "inputs": e.inputs, "outputs": e.outputs, "metadata": e.metadata}
            for e in to_examples(cases, dataset["sha256"])
        ]
        await asyncio.to_thread(client.create_examples, dataset_id=created.id, examples=examples)
    return name


async def _run(args: argparse.Namespace, cases: list[Case], dataset: dict[str, Any]) -> dict[str, Any]:
    client = Client() if args.upload else None
    with tempfile.TemporaryDirectory(prefix="switchyard-eval-") as workdir:
        target: Target
        if args.target == "inproc":
            template = seed_shop_template(Path(workdir) / "template")
            target = InprocTarget(template, Path(workdir) / "cases")
        else:
            target = HttpTarget(args.target)
        try:
            data = await _upload_dataset(client, cases, dataset) if client else None
            return await run_dataset(
                cases,
                target,
                dataset,
                repetitions=args.repetitions,
                concurrency=args.concurrency,
                client=client,
                data=data,
            )
        finally:
            await target.aclose()


def _write_reports(record: dict[str, Any], out: Path) -> None:
    try:
        from evals.report import write_reports
    except ImportError as exc:
        print(f"eval: no markdown/HTML report ({exc})", file=sys.stderr)
        return
    for path in write_reports(record, out):
        print(f"eval: wrote {path}", file=sys.stderr)


def refusal(args: argparse.Namespace) -> str | None:
    """Why these options cannot run, or None."""
    if args.upload and not os.environ.get("LANGSMITH_API_KEY"):
        return "--upload needs LANGSMITH_API_KEY; without --upload nothing leaves this machine"
    if args.repetitions < 1 or args.concurrency < 1:
        return "--repetitions and --concurrency must be at least 1"
    if args.target != "inproc" and not args.target.startswith(("http://", "https://")):
        return f"--target is inproc or a server's base URL, not {args.target!r}"
    if args.compare and not args.compare.is_file():
        return f"no baseline at {args.compare}"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if problem := refusal(args):
        print(f"eval: {problem}", file=sys.stderr)
        return 2
    if not args.upload:
        os.environ["LANGSMITH_TRACING"] = "false"
    baseline = json.loads(args.compare.read_text(encoding="utf-8")) if args.compare else None
    cases = select(load_cases(args.dataset), args.slice)
    if args.target != "inproc":
        kept = [c for c in cases if not writes_to_shop(c)]
        print(
            f"eval: {len(cases) - len(kept)} cases that refund or cancel are left out: a server has one shop, "
            "so they would change each other's results; --target inproc runs them on fresh copies",
            file=sys.stderr,
        )
        cases = kept
    dataset = dataset_info(args.dataset, args.slice, cases)
    record = asyncio.run(_run(args, cases, dataset))
    if baseline is not None:
        try:
            record["comparison"] = gate.compare(record, baseline, source=str(args.compare))
        except gate.GateError as exc:
            problem = f"cannot compare with {args.compare}: {exc}"
    _write(record, args)
    print(summary(record))
    if problem:
        print(f"eval: {problem}", file=sys.stderr)
        return 2
    comparison = record["comparison"]
    if comparison is not None:
        print(gate.render(comparison))
        return 0 if comparison["passed"] else 1
    return 0


def _write(record: dict[str, Any], args: argparse.Namespace) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "eval.json").write_text(dumps_record(record), encoding="utf-8")
    print(f"eval: wrote {args.out / 'eval.json'}", file=sys.stderr)
    _write_reports(record, args.out)
    if args.write_baseline:
        args.write_baseline.write_text(dumps_record(baseline_of(record)), encoding="utf-8")
        print(f"eval: wrote the baseline {args.write_baseline}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
