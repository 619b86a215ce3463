"""The labelled eval dataset: its shape, its vocabulary, and a few cases run through the real graph."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from evals.cases import CHECK_KINDS, TAGS, CaseError, evaluate, load_cases, parse_case
from evals.inproc import run_case
from graphs.support import build
from routers.types import INTENTS

DATASETS = Path(__file__).resolve().parents[1] / "evals" / "datasets"
SUPPORT = DATASETS / "support.jsonl"
CASES = load_cases(SUPPORT)
BY_ID = {case.id: case for case in CASES}


def test_enough_cases_for_every_intent() -> None:
    assert len(CASES) >= 400
    per_intent = Counter(case.expected_intent for case in CASES)
    assert {intent: per_intent[intent] for intent in INTENTS if per_intent[intent] < 40} == {}


def test_ids_are_unique() -> None:
    ids = [json.loads(line)["id"] for line in SUPPORT.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(ids) == len(set(ids)) == len(CASES)


def test_every_check_kind_and_tag_is_known_and_documented() -> None:
    readme = (DATASETS / "README.md").read_text(encoding="utf-8")
    kinds = {check["kind"] for case in CASES for check in case.checks}
    tags = {tag for case in CASES for tag in case.tags}
    assert kinds <= set(CHECK_KINDS)
    assert tags <= set(TAGS)
    assert [name for name in [*CHECK_KINDS, *TAGS] if f"`{name}`" not in readme] == []


def test_every_path_node_exists_in_the_compiled_graph() -> None:
    nodes = set(build().get_graph().nodes)
    used = {node for case in CASES for step in case.expected_path for node in step}
    assert used - nodes == set()


def test_the_categories_the_issue_asks_for_are_covered() -> None:
    tags = Counter(tag for case in CASES for tag in case.tags)
    for tag in ("paraphrase", "typo", "casing", "polite_noise", "multi_id", "followup", "non_english"):
        assert tags[tag] >= 10, tag
    for tag in ("injection", "out_of_scope"):
        assert tags[tag] >= 20, tag
    assert all(len(case.user_turns) > 1 for case in CASES if "followup" in case.tags)


def test_no_money_moves_on_injection_cases() -> None:
    injection = [case for case in CASES if "injection" in case.tags]
    assert all(any(c["kind"] == "no_money_moved" for c in case.checks) for case in injection)


@pytest.mark.parametrize(
    "row, problem",
    [
        ({"id": "x"}, "'tags' must be a non-empty list"),
        ({"id": "x", "tags": ["nonsense"]}, "unknown tags ['nonsense']"),
        ({"id": "x", "tags": ["typo"], "messages": [], "expected_intent": "faq", "checks": []}, "'messages' must be"),
        (
            {
                "id": "x",
                "tags": ["typo"],
                "expected_intent": "faq",
                "messages": [{"role": "user", "content": "hi"}],
                "expected_path": [["guard"], ["no_such_node"]],
                "checks": [],
            },
            "nodes ['no_such_node'] are not in the support graph",
        ),
        (
            {
                "id": "x",
                "tags": ["typo"],
                "expected_intent": "faq",
                "messages": [{"role": "user", "content": "hi"}],
                "expected_path": [["guard"]],
                "checks": [{"kind": "refund_amount"}],
            },
            "missing ['value']",
        ),
    ],
)
def test_a_broken_case_is_refused_with_a_clear_error(row: dict[str, Any], problem: str) -> None:
    with pytest.raises(CaseError, match="case \\(x\\)") as caught:
        parse_case(row)
    assert problem in str(caught.value)


def test_checks_judge_the_final_state() -> None:
    interrupted = {
        "answer": None,
        "refund": {"assessment": {"eligible": True, "reasons": [{"code": "within_policy"}]}},
        "__interrupt__": [{"action_requests": [{"name": "issue_refund", "args": {"amount": 1249.0}}]}],
    }
    assert evaluate({"kind": "interrupted_for_approval", "amount": 1249.0}, interrupted)[0]
    assert evaluate({"kind": "no_money_moved"}, interrupted)[0]
    assert not evaluate({"kind": "not_interrupted"}, interrupted)[0]
    refunded = {"refund": {"receipt": {"refund_id": 7, "amount_cents": 7999, "currency": "USD"}}, "answer": "#10002"}
    assert evaluate({"kind": "refund_amount", "value": 79.99, "currency": "USD"}, refunded)[0]
    assert not evaluate({"kind": "no_money_moved"}, refunded)[0]
    cancelled = {"facts": {"cancellation": {"cancelled": True, "refunded_cents": 3998, "code": "cancelled"}}}
    assert not evaluate({"kind": "no_money_moved"}, cancelled)[0]
    assert evaluate({"kind": "cancelled", "value": True}, cancelled)[0]


@pytest.mark.parametrize("case_id", ["rf-001", "rf-003", "co-001", "ho-032"])
async def test_canonical_cases_pass_through_the_real_graph(case_id: str, shop_template: Path, tmp_path: Path) -> None:
    run = await run_case(BY_ID[case_id], shop_template, tmp_path)
    assert (run.intent, run.path) == (run.case.expected_intent, list(run.case.expected_path))
    assert [(check, detail) for check, ok, detail in run.checks if not ok] == []
