"""Runs cases against a target through langsmith's `aevaluate`, offline unless asked to upload.

Offline means no socket opens for LangSmith (tests/test_evals.py proves it):
- `aevaluate(..., upload_results=False)` still forces tracing on around the target (`_aforward` in
  langsmith/evaluation/_arunner.py) and posts every target run through its client: a default client sends
  them to api.smith.langchain.com, and a client pointed nowhere still connects to try.
- So `offline_client()` samples every trace out (`tracing_sampling_rate=0`): runs are dropped before any request
  is built, while the run trees the evaluators read are still made in memory. No background batch thread
  (`auto_batch_tracing=False`), a server `info` given up front, and a loopback discard-port URL should anything
  slip through. Evaluators run untraced (`disable_evaluator_tracing=True`) and the graph itself runs with
  tracing off.
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
import uuid
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from langsmith import Client, schemas
from langsmith.evaluation import aevaluate
from langsmith.run_helpers import tracing_context

from evals.cases import Case
from evals.evaluators import EVALUATORS
from evals.observation import CaseRun, Target

_NAMESPACE = uuid.UUID("5b0c53e4-8f7e-4f55-9b39-5d0f0cbb6a61")


def offline_client() -> Client:
    """A LangSmith client that never reaches a server (see the module docstring)."""
    return Client(
        api_url="http://127.0.0.1:9",
        api_key="offline",
        auto_batch_tracing=False,
        tracing_sampling_rate=0.0,
        info=schemas.LangSmithInfo(),
    )


def to_examples(cases: Sequence[Case], dataset_sha256: str) -> list[schemas.Example]:
    """The cases as LangSmith examples: inputs are what the target needs, outputs the labels."""
    dataset_id = uuid.uuid5(_NAMESPACE, dataset_sha256)
    now = datetime.now(UTC)
    return [
        schemas.Example(
            id=uuid.uuid5(dataset_id, case.id),
            dataset_id=dataset_id,
            created_at=now,
            inputs={"case_id": case.id, "messages": list(case.messages), "context": case.context},
            outputs={
                "expected_intent": case.expected_intent,
                "expected_path": [sorted(step) for step in case.expected_path],
                "checks": list(case.checks),
            },
            metadata={"tags": list(case.tags), "llm": case.llm},
        )
        for case in cases
    ]


def observation(run: CaseRun | None, case: Case, repetition: int, seconds: float, error: str | None) -> dict[str, Any]:
    """The target's outputs for one case run: what the evaluators judge and the record shows."""
    state = run.final_state if run else {}
    usage = state.get("usage") or {}
    degraded = state.get("degraded")
    return {
        "case_id": case.id,
        "repetition": repetition,
        "intent": run.intent if run else None,
        "tier": run.tier if run else None,
        "path": [sorted(step) for step in run.path] if run else [],
        "state": state,
        "latency_s": round(run.seconds if run else seconds, 6),
        "llm_calls": int(usage.get("calls", 0)),
        "prompt_tokens": int(usage.get("prompt_tokens", 0)),
        "completion_tokens": int(usage.get("completion_tokens", 0)),
        "cost_usd": float(usage.get("cost_usd", 0.0)),
        "degraded": f"{degraded['rung']}: {degraded['reason']}" if degraded else None,
        "error": error,
    }


def case_row(outputs: dict[str, Any], case: Case, results: Sequence[Any]) -> dict[str, Any]:
    """One row of the run record from the target's outputs and the evaluators' feedback."""
    scores = {r.key: r for r in results}

    def score(key: str) -> bool:
        return key in scores and scores[key].score is True

    checks = (scores["checks_ok"].metadata or {}).get("checks", []) if "checks_ok" in scores else []
    return {
        "id": case.id,
        "repetition": outputs["repetition"],
        "tags": list(case.tags),
        "llm": case.llm,
        "expected_intent": case.expected_intent,
        "intent": outputs["intent"],
        "tier": outputs["tier"],
        "expected_path": [sorted(step) for step in case.expected_path],
        "path": outputs["path"],
        "intent_ok": score("intent_ok"),
        "path_ok": score("path_ok"),
        "checks": checks,
        "success": score("success"),
        **{key: outputs[key] for key in ("latency_s", "llm_calls", "prompt_tokens", "completion_tokens")},
        "cost_usd": round(outputs["cost_usd"], 8),
        "degraded": outputs["degraded"],
        "error": outputs["error"],
    }


async def run_experiment(
    cases: Sequence[Case],
    target: Target,
    *,
    dataset_sha256: str,
    repetitions: int = 1,
    concurrency: int = 4,
    client: Client | None = None,
    data: Any = None,
    progress: TextIO | None = sys.stderr,
) -> list[dict[str, Any]]:
    """Every case `repetitions` times, at most `concurrency` at once; one record row per case run, in dataset
    order. Without `client` everything stays offline; with a client (`--upload`), `data` names the LangSmith
    dataset whose examples carry these cases, and results are uploaded."""
    upload = client is not None
    by_id = {case.id: case for case in cases}
    next_repetition: dict[str, int] = {}

    async def observe(inputs: dict[str, Any]) -> dict[str, Any]:
        case = by_id[inputs["case_id"]]
        repetition = next_repetition.get(case.id, 0)
        next_repetition[case.id] = repetition + 1
        started = time.perf_counter()
        # Offline, the graph runs untraced; uploading, its runs nest under the target's.
        with tracing_context(enabled=None if upload else False):
            try:
                run = await target.run(case, repetition)
            except Exception as exc:  # a crashed case is a result: the row records it
                return observation(
                    None, case, repetition, time.perf_counter() - started, f"{type(exc).__name__}: {exc}"
                )
        return observation(run, case, repetition, 0.0, None)

    total = len(cases) * repetitions
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    with tracing_context(enabled=None if upload else False), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*'upload_results' parameter is in beta")
        printed = io.StringIO()  # aevaluate prints the experiment's name, and its URL when uploading
        with contextlib.redirect_stdout(printed):
            results = await aevaluate(
                observe,
                data=data if upload else to_examples(cases, dataset_sha256),
                evaluators=list(EVALUATORS),
                experiment_prefix="switchyard-eval",
                max_concurrency=concurrency,
                num_repetitions=repetitions,
                client=client or offline_client(),
                blocking=False,
                upload_results=upload,
                disable_evaluator_tracing=not upload,
            )
        if upload and progress is not None:
            progress.write(printed.getvalue())
        async for result in results:
            outputs = result["run"].outputs or {}
            row = case_row(outputs, by_id[outputs["case_id"]], result["evaluation_results"]["results"])
            rows.append(row)
            if progress is not None:
                _report(progress, len(rows), total, row)
    if progress is not None:
        counts = {s: sum(1 for row in rows if _status(row) == s) for s in ("ok", "FAIL", "error")}
        tally = ", ".join(f"{n} {s}" for s, n in counts.items())
        print(f"eval: {len(rows)} case runs in {time.perf_counter() - started:.1f} s: {tally}", file=progress)
    order = {case.id: index for index, case in enumerate(cases)}
    return sorted(rows, key=lambda row: (order[row["id"]], row["repetition"]))


def _status(row: dict[str, Any]) -> str:
    return "error" if row["error"] else "ok" if row["success"] else "FAIL"


def _report(out: TextIO, done: int, total: int, row: dict[str, Any]) -> None:
    """One progress line: `[ 120/459] rf-012 ok 12 ms`, with where a misrouted case went."""
    note = f" (routed to {row['intent']})" if not row["intent_ok"] and not row["error"] else ""
    note += f" {row['error']}" if row["error"] else ""
    latency = f"{row['latency_s'] * 1000:.0f} ms"
    print(f"[{done:>{len(str(total))}}/{total}] {row['id']} {_status(row)} {latency}{note}", file=out)
