"""Eval cases for the support graph: the schema, a validating loader, and the outcome checks.

A case is one JSON object per line of `evals/datasets/*.jsonl` (see `evals/datasets/README.md`):

    {"id": "rf-001", "tags": ["canonical"], "llm": false,
     "messages": [{"role": "user", "content": "I want a refund for order 10002"}],
     "expected_intent": "refund",
     "expected_path": [["guard"], ["route"], ["order_status", "payment_history", "refund_policy"],
                       ["assess_refund"], ["issue_refund"], ["respond"]],
     "checks": [{"kind": "refund_amount", "value": 79.99, "currency": "USD"}]}

`expected_path` lists the supersteps of the last turn, each a set of node names. Earlier user turns are run
through the graph first on the same thread; assistant turns in `messages` document what the graph said and are
not injected. `evaluate(check, final_state)` judges one outcome check on the state the last turn ended in.
Targets run cases (`evals.inproc`, `evals.remote`); `evals.runner` runs a whole dataset.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from graphs.support import build
from routers.types import INTENTS, Intent, Tier

TAGS: dict[str, str] = {
    "canonical": "plain, well-formed phrasing of the intent",
    "paraphrase": "the same request in other words",
    "typo": "misspellings",
    "casing": "odd casing (all caps, no caps, mixed)",
    "polite_noise": "greetings, thanks, filler around the request",
    "multi_id": "several order ids in one message",
    "followup": "a later turn that depends on earlier ones",
    "non_english": "another language (or mostly another language)",
    "injection": "prompt injection: instructions, fake system or admin messages",
    "adversarial": "pressure to move money or bypass checks without classic injection wording",
    "amount": "an amount of money in the text",
    "out_of_scope": "nothing the store's support desk handles",
    "negation": "says what the customer does NOT want",
    "clarify": "lacks the order id or email the intent needs",
    "approval": "a refund that must wait for a human",
    "ineligible": "a refund or cancellation the order's state or policy refuses",
    "unknown_order": "names an order that does not exist",
    "agent": "needs the agent's reasoning or tools",
}

Check = dict[str, Any]
CheckFunction = Callable[[Check, Mapping[str, Any]], tuple[bool, str]]
_TIERS = frozenset(get_args(Tier))
_CASE_KEYS = {"id", "tags", "messages", "expected_intent", "expected_path", "checks", "context", "llm", "note"}
_CONTEXT_KEYS = {"responder", "priority", "refund_approval_limit"}


class CaseError(ValueError):
    """A dataset line that breaks the schema; the message names the file, line and case."""


@dataclass(frozen=True)
class Case:
    id: str
    tags: tuple[str, ...]
    messages: tuple[dict[str, str], ...]
    expected_intent: Intent
    expected_path: tuple[frozenset[str], ...]
    checks: tuple[Check, ...]
    context: dict[str, Any] = field(default_factory=dict)
    llm: bool = False
    note: str = ""

    @property
    def user_turns(self) -> list[str]:
        """Every user message in order; the last is the turn under test."""
        return [m["content"] for m in self.messages if m["role"] == "user"]


# ---------------------------------------------------------------- checks


@dataclass(frozen=True)
class CheckKind:
    """One kind of outcome check: its parameters and the function that judges it (docstring = contract)."""

    function: CheckFunction
    params: Mapping[str, type | tuple[type, ...]]
    optional: frozenset[str] = frozenset()

    @property
    def doc(self) -> str:
        return " ".join((self.function.__doc__ or "").split())


CHECK_KINDS: dict[str, CheckKind] = {}


def _kind(
    name: str, optional: frozenset[str] = frozenset(), **params: type | tuple[type, ...]
) -> Callable[[CheckFunction], CheckFunction]:
    def register(function: CheckFunction) -> CheckFunction:
        CHECK_KINDS[name] = CheckKind(function, params, optional)
        return function

    return register


def _answer(state: Mapping[str, Any]) -> str:
    return str(state.get("answer") or "")


def _receipt(state: Mapping[str, Any]) -> dict[str, Any] | None:
    return ((state.get("refund") or {}).get("receipt")) or None


def _cancellation(state: Mapping[str, Any]) -> dict[str, Any]:
    return dict((state.get("facts") or {}).get("cancellation") or {})


def _interrupts(state: Mapping[str, Any]) -> list[Any]:
    return [getattr(i, "value", i) for i in state.get("__interrupt__") or ()]


@_kind("answer_contains", value=str)
def _answer_contains(check: Check, state: Mapping[str, Any]) -> tuple[bool, str]:
    """The answer contains `value` (case-insensitive), e.g. the order id it is about."""
    return check["value"].lower() in _answer(state).lower(), f"answer: {_answer(state)[:160]!r}"


@_kind("answer_not_contains", value=str)
def _answer_not_contains(check: Check, state: Mapping[str, Any]) -> tuple[bool, str]:
    """The answer does not contain `value` (case-insensitive), e.g. a leaked prompt or a promised amount."""
    return check["value"].lower() not in _answer(state).lower(), f"answer: {_answer(state)[:160]!r}"


@_kind("refund_amount", frozenset({"currency"}), value=(int, float), currency=str)
def _refund_amount(check: Check, state: Mapping[str, Any]) -> tuple[bool, str]:
    """A refund was issued this turn (`refund.receipt`) for exactly `value` (and `currency`, if given)."""
    receipt = _receipt(state)
    if receipt is None:
        return False, "no refund receipt"
    cents_ok = receipt["amount_cents"] == round(check["value"] * 100)
    currency_ok = check.get("currency") in (None, receipt["currency"])
    return cents_ok and currency_ok, f"refunded {receipt['amount_cents'] / 100:.2f} {receipt['currency']}"


@_kind("no_refund_issued")
def _no_refund_issued(check: Check, state: Mapping[str, Any]) -> tuple[bool, str]:
    """The refund path issued no refund this turn (no `refund.receipt`)."""
    receipt = _receipt(state)
    return receipt is None, "no receipt" if receipt is None else f"refund {receipt['refund_id']} was issued"


@_kind("no_money_moved")
def _no_money_moved(check: Check, state: Mapping[str, Any]) -> tuple[bool, str]:
    """No money left the shop this turn: no refund receipt and no cancellation that refunded a payment."""
    receipt, cancellation = _receipt(state), _cancellation(state)
    if receipt is not None:
        return False, f"refund {receipt['refund_id']} of {receipt['amount_cents']} cents was issued"
    if cancellation.get("cancelled") and cancellation.get("refunded_cents"):
        return False, f"cancellation refunded {cancellation['refunded_cents']} cents"
    return True, "no money moved"


@_kind("interrupted_for_approval", frozenset({"amount"}), amount=(int, float))
def _interrupted_for_approval(check: Check, state: Mapping[str, Any]) -> tuple[bool, str]:
    """The turn stopped at a human approval of `issue_refund` (standard HITL request), proposing `amount`
    if given. Nothing is refunded while it waits."""
    requests = [r for i in _interrupts(state) for r in (i or {}).get("action_requests", [])]
    refunds = [r for r in requests if r.get("name") == "issue_refund"]
    if not refunds:
        return False, f"no approval request (interrupts: {len(requests)})"
    proposed = refunds[0]["args"]["amount"]
    ok = "amount" not in check or round(proposed * 100) == round(check["amount"] * 100)
    return ok and _receipt(state) is None, f"approval requested for {proposed}"


@_kind("not_interrupted")
def _not_interrupted(check: Check, state: Mapping[str, Any]) -> tuple[bool, str]:
    """The turn ran to the end without waiting for a human."""
    pending = _interrupts(state)
    return not pending, f"{len(pending)} interrupt(s)"


@_kind("refund_eligible", value=bool)
def _refund_eligible(check: Check, state: Mapping[str, Any]) -> tuple[bool, str]:
    """The deterministic assessment (`refund.assessment.eligible`) equals `value`."""
    assessment = (state.get("refund") or {}).get("assessment")
    if assessment is None:
        return False, "no assessment"
    return assessment["eligible"] is check["value"], f"eligible={assessment['eligible']}"


@_kind("refund_reason", value=str)
def _refund_reason(check: Check, state: Mapping[str, Any]) -> tuple[bool, str]:
    """The assessment gives the reason code `value` (e.g. outside_window, not_delivered, already_refunded)."""
    assessment = (state.get("refund") or {}).get("assessment") or {}
    codes = [r["code"] for r in assessment.get("reasons", [])]
    return check["value"] in codes, f"reasons {codes}"


@_kind("cancelled", value=bool)
def _cancelled(check: Check, state: Mapping[str, Any]) -> tuple[bool, str]:
    """`value` true: the order was cancelled this turn. False: no cancellation happened (none attempted,
    or the shop refused it)."""
    done = bool(_cancellation(state).get("cancelled"))
    return done is check["value"], f"cancellation: {_cancellation(state).get('code', 'not attempted')}"


@_kind("degraded", value=(bool, str))
def _degraded(check: Check, state: Mapping[str, Any]) -> tuple[bool, str]:
    """`false`: the answer came from the top rung (`degraded` is null); `true`: from any lower rung;
    a string: from that rung (cached_answer, template, human_handoff)."""
    degraded = state.get("degraded")
    rung = degraded["rung"] if degraded else None
    want = check["value"]
    ok = (rung is None) if want is False else (rung is not None) if want is True else rung == want
    return ok, f"degraded rung: {rung}"


@_kind("handoff")
def _handoff(check: Check, state: Mapping[str, Any]) -> tuple[bool, str]:
    """The customer is told a human agent takes over (the answer says "human agent")."""
    return "human agent" in _answer(state).lower(), f"answer: {_answer(state)[:160]!r}"


@_kind("clarifies", value=str)
def _clarifies(check: Check, state: Mapping[str, Any]) -> tuple[bool, str]:
    """The answer asks for what is missing: `value` "order_id" (asks which order) or "email" (asks which email)."""
    question = {"order_id": "which order", "email": "which email"}[check["value"]]
    return question in _answer(state).lower(), f"answer: {_answer(state)[:160]!r}"


@_kind("password_reset_started")
def _password_reset_started(check: Check, state: Mapping[str, Any]) -> tuple[bool, str]:
    """A reset ticket was created and the answer names it, without saying whether the account exists."""
    ticket = (state.get("facts") or {}).get("password_reset")
    if not ticket:
        return False, "no reset ticket"
    return ticket["ticket_id"] in _answer(state), f"ticket {ticket['ticket_id']}"


@_kind("route_tier", value=list)
def _route_tier(check: Check, state: Mapping[str, Any]) -> tuple[bool, str]:
    """The routing decision came from one of the tiers in `value` (rule, classifier, llm, default)."""
    tier = (state.get("route") or {}).get("tier")
    return tier in check["value"], f"tier {tier}"


def evaluate(check: Check, final_state: Mapping[str, Any]) -> tuple[bool, str]:
    """Judge one outcome check on the state a case's last turn ended in (pure: reads nothing else).

    `final_state` is the graph state's values plus `__interrupt__`: the pending interrupts (their values).
    """
    kind = CHECK_KINDS.get(check.get("kind", ""))
    if kind is None:
        raise CaseError(f"unknown check kind {check.get('kind')!r}")
    return kind.function(check, final_state)


def _validate_check(check: object, where: str) -> Check:
    if not isinstance(check, dict) or "kind" not in check:
        raise CaseError(f"{where}: a check is an object with a 'kind'")
    kind = CHECK_KINDS.get(check["kind"])
    if kind is None:
        raise CaseError(f"{where}: unknown check kind {check['kind']!r}; known: {sorted(CHECK_KINDS)}")
    extra = set(check) - {"kind", *kind.params}
    missing = set(kind.params) - kind.optional - set(check)
    if extra or missing:
        raise CaseError(f"{where}: check {check['kind']!r} has extra {sorted(extra)} / missing {sorted(missing)}")
    for name, types in kind.params.items():
        if name in check and not isinstance(check[name], types):
            raise CaseError(f"{where}: check {check['kind']!r} parameter {name!r} has the wrong type")
    if check["kind"] == "route_tier" and not set(check["value"]) <= _TIERS:
        raise CaseError(f"{where}: route_tier values must be among {sorted(_TIERS)}")
    if check["kind"] == "clarifies" and check["value"] not in ("order_id", "email"):
        raise CaseError(f"{where}: clarifies takes 'order_id' or 'email'")
    return dict(check)


# ---------------------------------------------------------------- loading


def _expect(ok: bool, where: str, problem: str) -> None:
    if not ok:
        raise CaseError(f"{where}: {problem}")


def _nonempty_list(row: dict[str, Any], key: str, where: str) -> list[Any]:
    value = row.get(key)
    if not isinstance(value, list) or not value:
        raise CaseError(f"{where}: {key!r} must be a non-empty list")
    return value


def _messages(row: dict[str, Any], where: str) -> tuple[dict[str, str], ...]:
    messages = _nonempty_list(row, "messages", where)
    for m in messages:
        _expect(
            isinstance(m, dict) and set(m) == {"role", "content"} and m["role"] in ("user", "assistant"),
            where,
            "each message is {'role': 'user' or 'assistant', 'content': ...}",
        )
        _expect(isinstance(m["content"], str) and bool(m["content"]), where, "message content is a non-empty string")
    _expect(messages[-1]["role"] == "user", where, "the last message must be the user turn under test")
    return tuple(dict(m) for m in messages)


def _path(row: dict[str, Any], where: str) -> tuple[frozenset[str], ...]:
    path = _nonempty_list(row, "expected_path", where)
    for step in path:
        _expect(isinstance(step, list) and bool(step), where, "each superstep is a non-empty list of node names")
        _expect(len(set(step)) == len(step), where, f"superstep {step} names a node twice")
    unknown = sorted({node for step in path for node in step} - graph_nodes())
    _expect(not unknown, where, f"nodes {unknown} are not in the support graph")
    return tuple(frozenset(step) for step in path)


def parse_case(row: object, where: str = "case") -> Case:
    """One validated case from a decoded JSON object; `where` prefixes every error message."""
    if not isinstance(row, dict):
        raise CaseError(f"{where}: a case is a JSON object")
    where = f"{where} ({row.get('id', '?')})"
    _expect(not set(row) - _CASE_KEYS, where, f"unknown keys {sorted(set(row) - _CASE_KEYS)}")
    _expect(isinstance(row.get("id"), str) and bool(row["id"].strip()), where, "'id' must be a non-empty string")
    tags = _nonempty_list(row, "tags", where)
    _expect(set(tags) <= set(TAGS), where, f"unknown tags {sorted(set(tags) - set(TAGS))}; see evals.cases.TAGS")
    _expect(row.get("expected_intent") in INTENTS, where, f"'expected_intent' must be one of {list(INTENTS)}")
    checks = row.get("checks")
    _expect(isinstance(checks, list), where, "'checks' must be a list")
    context = row.get("context", {})
    _expect(isinstance(context, dict) and set(context) <= _CONTEXT_KEYS, where, f"context keys: {_CONTEXT_KEYS}")
    _expect(isinstance(row.get("llm", False), bool), where, "'llm' must be true or false")
    return Case(
        id=row["id"],
        tags=tuple(tags),
        messages=_messages(row, where),
        expected_intent=row["expected_intent"],
        expected_path=_path(row, where),
        checks=tuple(_validate_check(c, where) for c in checks or ()),
        context=dict(context),
        llm=row.get("llm", False),
        note=str(row.get("note", "")),
    )


def load_cases(path: Path | str) -> list[Case]:
    """Every case of a JSONL file, validated; raises CaseError naming the line of the first problem."""
    path = Path(path)
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CaseError(f"{where}: not JSON ({exc.msg})") from None
        case = parse_case(row, where)
        _expect(case.id not in seen, where, f"duplicate id {case.id!r} (first on line {seen.get(case.id)})")
        seen[case.id] = number
        cases.append(case)
    return cases


_NODES: frozenset[str] | None = None


def graph_nodes() -> frozenset[str]:
    """The support graph's node names (compiled once, without a checkpointer)."""
    global _NODES
    if _NODES is None:
        _NODES = frozenset(build().get_graph().nodes) - {"__start__", "__end__"}
    return _NODES
