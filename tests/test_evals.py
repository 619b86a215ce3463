"""The offline eval runner, its metrics and its regression gate.

The deterministic slice runs in-process against the committed baseline (what CI gates), and again with a rule
deliberately broken, to show the gate catches it. A small run through the CLI proves no socket opens.
"""

from __future__ import annotations

import dataclasses
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evals import gate, metrics, runner
from evals.cases import Case, load_cases
from evals.inproc import InprocTarget
from routers import rules
from server import cli
from tests.support import copy_db, running_server

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "evals" / "baseline.json"
DATASET = ROOT / "evals" / "datasets" / "support.jsonl"
DETERMINISTIC = runner.select(load_cases(DATASET), "deterministic")


async def run_slice(cases: list[Case], shop_template: Path, workdir: Path) -> dict[str, Any]:
    target = InprocTarget(shop_template, workdir)
    dataset = runner.dataset_info(DATASET, "deterministic", cases)
    return await runner.run_dataset(cases, target, dataset, concurrency=4, progress=None)


# ---------------------------------------------------------------- the gate on the real graph


async def test_the_deterministic_slice_passes_the_gate(shop_template: Path, tmp_path: Path) -> None:
    record = await run_slice(DETERMINISTIC, shop_template, tmp_path)
    assert [row["error"] for row in record["cases"] if row["error"]] == []
    comparison = gate.compare(record, json.loads(BASELINE.read_text()), source=str(BASELINE))
    assert comparison["passed"], gate.render(comparison)


async def test_the_gate_catches_a_broken_rule(
    shop_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Break the table in-process: requests for money back now route to order status.
    broken = tuple(dataclasses.replace(r, intent="order_status") if r.name == "refund" else r for r in rules.RULES)
    monkeypatch.setattr(rules, "RULES", broken)
    record = await run_slice(DETERMINISTIC, shop_template, tmp_path)
    comparison = gate.compare(record, json.loads(BASELINE.read_text()), source=str(BASELINE))

    assert not comparison["passed"]
    regressed = {m["metric"] for m in comparison["metrics"] if m["regressed"]}
    assert {"route_accuracy", "deterministic_precision", "task_success"} <= regressed
    flipped = {f["id"] for f in comparison["flipped"] if f["field"] == "intent_ok" and f["current"] is False}
    assert {"rf-001", "rf-002"} <= flipped
    assert {case_id[:3] for case_id in flipped} == {"rf-"}


# ---------------------------------------------------------------- offline: no socket opens


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, Any]]]:
    """Every attempt to connect or resolve a name is recorded and refused."""
    attempts: list[tuple[str, Any]] = []

    def refuse(kind: str) -> Any:
        def attempt(*args: Any, **kwargs: Any) -> Any:
            attempts.append((kind, args[1] if kind.startswith("socket.") else args[0]))
            raise OSError(f"test: no network ({kind})")

        return attempt

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    yield attempts


def test_the_socket_guard_sees_connections(no_sockets: list[tuple[str, Any]]) -> None:
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", 9)):
        pass
    with socket.socket() as s, pytest.raises(OSError):
        s.connect(("127.0.0.1", 9))
    assert [kind for kind, _ in no_sockets] == ["create_connection", "socket.connect"]


def test_an_eval_run_opens_no_socket(
    no_sockets: list[tuple[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """The whole CLI path, `aevaluate` and the report included: a refund, an approval, a follow-up, the LLM
    tier and the agent with its tools, twice each."""
    monkeypatch.delenv("LANGSMITH_API_KEY", raising=False)
    picked = {"rf-001", "rf-003", "rf-059", "os-001", "fq-001", "cx-001"}
    small = tmp_path / "small.jsonl"
    lines = DATASET.read_text().splitlines()
    small.write_text("\n".join(line for line in lines if json.loads(line)["id"] in picked) + "\n")

    code = cli.main(["eval", "--dataset", str(small), "--repetitions", "2", "--out", str(tmp_path / "out")])

    assert code == 0, capsys.readouterr().err
    assert no_sockets == []
    record = json.loads((tmp_path / "out" / "eval.json").read_text())
    assert len(record["cases"]) == 2 * len(picked)
    assert {row["repetition"] for row in record["cases"]} == {0, 1}
    assert [row["id"] for row in record["cases"] if row["error"]] == []
    assert record["metrics"]["pass_hat_k"]["k"] == 2
    assert any(row["llm_calls"] > 0 for row in record["cases"])
    assert "route accuracy" in capsys.readouterr().out


# ---------------------------------------------------------------- the HTTP target


def test_the_http_target_agrees_with_inproc(shop_template: Path, tmp_path: Path, capsys: Any) -> None:
    """A real server and the real SDK client; the refund that moves money is left out, the approval is not."""
    picked = {"rf-001", "rf-003", "rf-059", "os-001", "fq-001", "cx-001", "co-001", "ho-001"}
    small = tmp_path / "small.jsonl"
    small.write_text("\n".join(line for line in DATASET.read_text().splitlines() if json.loads(line)["id"] in picked))
    records = {}
    with running_server(copy_db(shop_template, tmp_path / "db"), tmp_path / "server.log") as server:
        for target in ("inproc", server.url):
            out = tmp_path / target.replace(":", "_").replace("/", "_")
            assert cli.main(["eval", "--dataset", str(small), "--target", target, "--out", str(out)]) == 0
            records[target] = {row["id"]: row for row in json.loads((out / "eval.json").read_text())["cases"]}
    over_http = records[server.url]
    assert set(over_http) == picked - {"rf-001", "rf-059", "co-001"}  # they refund or cancel
    assert "3 cases that refund or cancel are left out" in capsys.readouterr().err
    fields = ("intent", "tier", "path", "intent_ok", "path_ok", "success", "error")
    assert {i: [r[f] for f in fields] for i, r in over_http.items()} == {
        i: [records["inproc"][i][f] for f in fields] for i in over_http
    }


def test_upload_needs_a_langsmith_key(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.delenv("LANGSMITH_API_KEY", raising=False)
    assert cli.main(["eval", "--upload", "--slice", "deterministic"]) == 2
    assert "--upload needs LANGSMITH_API_KEY" in capsys.readouterr().err


# ---------------------------------------------------------------- metrics and gate on hand-made rows


def row(case_id: str, expected: str, intent: str | None, tier: str | None, **fields: Any) -> dict[str, Any]:
    base = {
        "id": case_id,
        "repetition": 0,
        "expected_intent": expected,
        "intent": intent,
        "tier": tier,
        "intent_ok": intent == expected,
        "path_ok": intent == expected,
        "success": intent == expected,
        "latency_s": 0.01,
        "llm_calls": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cost_usd": 0.0,
        "degraded": None,
        "error": None,
    }
    return base | fields


ROWS = [
    row("rf-1", "refund", "refund", "rule", latency_s=0.010),
    row("rf-2", "refund", "order_status", "rule", latency_s=0.020),
    row("os-1", "order_status", "order_status", "classifier", latency_s=0.030),
    row("cx-1", "complex", "complex", "llm", llm_calls=2, prompt_tokens=100, completion_tokens=20, cost_usd=0.001),
    row("cx-2", "complex", "faq", "llm", llm_calls=1, prompt_tokens=50, completion_tokens=5, cost_usd=0.0005),
    row("fq-1", "faq", "complex", "default", degraded="template: llm unavailable"),
    row("ho-1", "handoff", None, None, error="RuntimeError: boom"),
]


def test_rates_carry_their_counts() -> None:
    m = metrics.compute(ROWS)
    assert m["route_accuracy"] == {"value": round(3 / 7, 6), "n": 7}
    assert m["tier_share"]["rule"] == {"value": round(2 / 7, 6), "n": 7}
    assert m["tier_share"]["default"] == {"value": round(1 / 7, 6), "n": 7}
    assert m["llm_call_rate"] == {"value": round(2 / 7, 6), "n": 7}
    assert m["deterministic_precision"] == {"value": round(2 / 3, 6), "n": 3}
    assert m["tier_precision"]["rule"] == {"value": 0.5, "n": 2}
    assert m["tier_precision"]["classifier"] == {"value": 1.0, "n": 1}
    assert m["degraded_share"] == {"value": round(1 / 7, 6), "n": 7}
    assert m["tokens"] == {"prompt": 150, "completion": 25, "n": 7}
    assert m["cost_usd"] == {"total": 0.0015, "per_case": round(0.0015 / 7, 8), "n": 7}


def test_precision_and_recall_per_intent() -> None:
    per_intent = metrics.compute(ROWS)["per_intent"]
    assert per_intent["refund"] == {"precision": {"value": 1.0, "n": 1}, "recall": {"value": 0.5, "n": 2}}
    assert per_intent["order_status"] == {"precision": {"value": 0.5, "n": 2}, "recall": {"value": 1.0, "n": 1}}
    assert per_intent["complex"]["precision"] == {"value": 0.5, "n": 2}
    assert per_intent["cancel_order"] == {"precision": {"value": None, "n": 0}, "recall": {"value": None, "n": 0}}


def test_the_confusion_matrix_has_an_error_column_when_a_run_crashed() -> None:
    confusion = metrics.compute(ROWS)["confusion"]
    labels = confusion["labels"]
    assert len(confusion["matrix"]) == len(labels) and all(len(r) == len(labels) + 1 for r in confusion["matrix"])
    cell = {(labels[i], ([*labels, "error"])[j]): v for i, r in enumerate(confusion["matrix"]) for j, v in enumerate(r)}
    assert cell[("refund", "order_status")] == 1 and cell[("handoff", "error")] == 1
    assert sum(map(sum, confusion["matrix"])) == len(ROWS)
    assert all(len(r) == len(labels) for r in metrics.compute(ROWS[:-1])["confusion"]["matrix"])


def test_pass_at_1_and_pass_hat_k() -> None:
    rows = [
        row("a", "faq", "faq", "rule"),
        row("a", "faq", "faq", "rule", repetition=1),
        row("b", "faq", "faq", "rule"),
        row("b", "faq", "complex", "default", repetition=1),
        row("c", "faq", "complex", "default"),
        row("c", "faq", "faq", "rule", repetition=1),
    ]
    m = metrics.compute(rows)
    assert m["pass_at_1"] == {"value": round(2 / 3, 6), "n": 3}
    assert m["pass_hat_k"] == {"value": round(1 / 3, 6), "n": 3, "k": 2}
    assert m["task_success"] == {"value": round(4 / 6, 6), "n": 6}


def test_latency_percentiles_overall_and_per_tier() -> None:
    latency = metrics.compute(ROWS)["latency_s"]
    assert latency["all"]["n"] == 7 and latency["all"]["p50"] == 0.01
    assert latency["by_tier"]["rule"] == {"p50": 0.015, "p95": 0.0195, "p99": 0.0199, "n": 2}
    assert latency["by_intent"]["refund"]["n"] == 2
    assert latency["by_tier"]["llm"]["n"] == 2
    assert latency["by_intent"]["cancel_order"] == {"p50": None, "p95": None, "p99": None, "n": 0}


def record_of(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"cases": rows, "metrics": metrics.compute(rows)}


def test_the_gate_thresholds() -> None:
    good = [row(f"c{i}", "faq", "faq", "rule") for i in range(200)]
    # One wrong case in 200 is half a point: under every threshold but deterministic precision's, which it meets.
    one_wrong = [row("c0", "faq", "complex", "rule"), *good[1:]]
    comparison = gate.compare(record_of(one_wrong), record_of(good), source="base.json")
    by_metric = {m["metric"]: m for m in comparison["metrics"]}
    assert by_metric["route_accuracy"]["delta_points"] == -0.5 and not by_metric["route_accuracy"]["regressed"]
    assert not by_metric["deterministic_precision"]["regressed"]  # exactly 0.5 points is not "more than"
    assert comparison["passed"] and comparison["baseline"] == "base.json"
    assert comparison["flipped"] == [
        {"id": "c0", "field": "intent_ok", "baseline": True, "current": False},
        {"id": "c0", "field": "success", "baseline": True, "current": False},
    ]

    two_wrong = [row("c0", "faq", "complex", "rule"), row("c1", "faq", "complex", "rule"), *good[2:]]
    comparison = gate.compare(record_of(two_wrong), record_of(good))
    assert [m["metric"] for m in comparison["metrics"] if m["regressed"]] == ["deterministic_precision"]
    assert not comparison["passed"]

    five_more_llm = [row(f"c{i}", "faq", "faq", "llm", llm_calls=1) for i in range(5)] + good[5:]
    comparison = gate.compare(record_of(five_more_llm), record_of(good))
    assert [m["metric"] for m in comparison["metrics"] if m["regressed"]] == ["llm_call_rate"]
    assert comparison["flipped"] == []


def test_the_gate_compares_the_case_runs_both_records_have() -> None:
    base = [row("a", "faq", "faq", "rule"), row("b", "faq", "faq", "rule")]
    now = [row("a", "faq", "faq", "rule"), row("b", "faq", "faq", "rule"), row("x", "faq", "complex", "default")]
    assert gate.compare(record_of(now), record_of(base))["passed"]
    with pytest.raises(gate.GateError):
        gate.compare(record_of([row("x", "faq", "faq", "rule")]), record_of(base))


def test_the_baseline_is_a_record_of_the_deterministic_slice() -> None:
    baseline = json.loads(BASELINE.read_text())
    assert baseline["schema"] == 1 and baseline["run"]["dataset"]["slice"] == "deterministic"
    assert {row["id"] for row in baseline["cases"]} == {case.id for case in DETERMINISTIC}
    assert baseline["metrics"] == metrics.compute(baseline["cases"])
