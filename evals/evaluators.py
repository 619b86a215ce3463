"""The row evaluators `aevaluate` runs on every case run: intent, trajectory, outcome.

Each reads the target's `outputs` (what the run did, see `evals.experiment.observation`) and the example's
`reference_outputs` (the case's labels), and returns LangSmith feedback. They are pure and offline:
- `intent`: openevals' `exact_match` of the `route` node's decision against the expected intent;
- `trajectory`: agentevals' `graph_trajectory_strict_match` over the supersteps. Node names inside a superstep
  are sorted on both sides, so comparing the lists compares each superstep as a set;
- `outcome`: every outcome check of the case (`evals.cases.evaluate`) on the final state, and task success:
  no crash, the right intent, and every check passed (the path is not required).
"""

from __future__ import annotations

from typing import Any

from agentevals.graph_trajectory.strict import graph_trajectory_strict_match
from openevals.exact import exact_match

from evals.cases import evaluate


def intent(outputs: dict[str, Any], reference_outputs: dict[str, Any]) -> dict[str, Any]:
    result = exact_match(
        outputs={"intent": outputs["intent"]}, reference_outputs={"intent": reference_outputs["expected_intent"]}
    )
    return {"key": "intent_ok", "score": bool(result["score"]), "comment": f"routed to {outputs['intent']}"}


def trajectory(outputs: dict[str, Any], reference_outputs: dict[str, Any]) -> dict[str, Any]:
    result = graph_trajectory_strict_match(
        outputs={"inputs": [], "results": [], "steps": outputs["path"]},
        reference_outputs={"inputs": [], "results": [], "steps": reference_outputs["expected_path"]},
    )
    return {"key": "path_ok", "score": bool(result["score"])}


def outcome(outputs: dict[str, Any], reference_outputs: dict[str, Any]) -> dict[str, Any]:
    verdicts = []
    for check in reference_outputs["checks"]:
        passed, detail = evaluate(check, outputs["state"])
        verdicts.append({"kind": check["kind"], "passed": passed, "detail": detail})
    checks_ok = all(v["passed"] for v in verdicts)
    success = outputs["error"] is None and outputs["intent"] == reference_outputs["expected_intent"] and checks_ok
    failed = [v["kind"] for v in verdicts if not v["passed"]]
    return {
        "results": [
            {"key": "checks_ok", "score": checks_ok, "metadata": {"checks": verdicts}, "comment": f"failed: {failed}"},
            {"key": "success", "score": success},
        ]
    }


EVALUATORS = (intent, trajectory, outcome)
