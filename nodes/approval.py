"""approval: a human approves, edits or rejects a refund before money moves.

A refund above the approval limit, or one the policy would refuse (outside the window,
a non-refundable category), stops here with LangChain's standard human-in-the-loop
request, which Agent Chat UI renders with approve / edit / reject buttons:

    {"action_requests": [{"name": "issue_refund", "args": {...}, "description": "..."}],
     "review_configs": [{"action_name": "issue_refund", "allowed_decisions": ["approve", "edit", "reject"]}]}

It resumes with `{"decisions": [{"type": "approve"} | {"type": "reject", "message": ...} |
{"type": "edit", "edited_action": {"name": "issue_refund", "args": {...}}}]}`. An edit may only
lower the amount, and eligibility is checked again in code. The server validates the
decision before resuming (`parse_decision`), so a malformed one never reaches the graph.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from langgraph.types import interrupt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from nodes import templates
from nodes.state import SupportState

ACTION = "issue_refund"


class EditedAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Literal["issue_refund"]
    args: dict[str, Any]


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["approve", "edit", "reject"]
    message: str | None = Field(default=None, max_length=1000)
    edited_action: EditedAction | None = None

    @field_validator("edited_action")
    @classmethod
    def _edit_needs_action(cls, value: EditedAction | None, info: Any) -> EditedAction | None:
        if info.data.get("type") == "edit" and value is None:
            raise ValueError("an edit decision needs edited_action")
        return value


class Resume(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decisions: list[Decision] = Field(min_length=1, max_length=1)


class InvalidDecision(ValueError):
    code = "invalid_decision"


def parse_decision(resume: Any) -> Decision:
    """The one decision of a resume payload, or `InvalidDecision` with what is wrong."""
    try:
        return Resume.model_validate(resume).decisions[0]
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'resume'}: {e['msg']}" for e in exc.errors()[:3])
        raise InvalidDecision(f"invalid approval decision: {problems}") from None


def money(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


def edited_cents(decision: Decision) -> int:
    """The amount an edit asks for, in cents; `InvalidDecision` when it is not a positive amount."""
    args = decision.edited_action.args if decision.edited_action else {}
    try:
        amount = Decimal(str(args["amount"]))
    except (KeyError, InvalidOperation):
        raise InvalidDecision("an edit must give args.amount as a number") from None
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise InvalidDecision("args.amount must be positive, with at most two decimals")
    return int(amount * 100)


def approval_request(proposal: dict[str, Any], why: str) -> dict[str, Any]:
    args = {
        "order_id": proposal["order_id"],
        "amount": money(proposal["amount_cents"]),
        "currency": proposal["currency"],
        "reason": proposal["reason"],
    }
    return {
        "action_requests": [
            {
                "name": ACTION,
                "args": args,
                "description": f"Refund {args['amount']} {args['currency']} for order #{args['order_id']}: {why}",
            }
        ],
        "review_configs": [{"action_name": ACTION, "allowed_decisions": ["approve", "edit", "reject"]}],
    }


async def approval(state: SupportState) -> dict[str, Any]:
    """Reads `refund.proposal` (and `refund.approval_reason`); interrupts for a human decision;
    writes `refund.approved_cents` (approve / edit) or a declining `answer` (reject)."""
    refund = dict(state.get("refund") or {})
    proposal = refund["proposal"]
    decision = parse_decision(interrupt(approval_request(proposal, refund["approval_reason"])))
    if decision.type == "reject":
        refund["decision"] = {"type": "reject", "message": decision.message}
        return {"refund": refund, "answer": templates.refund_rejected(proposal["order_id"], decision.message)}
    cents = proposal["amount_cents"]
    if decision.type == "edit":
        cents = edited_cents(decision)
        if cents > proposal["amount_cents"]:
            raise InvalidDecision("an edit may only lower the amount")
    refund["decision"] = {"type": decision.type, "amount_cents": cents}
    refund["approved_cents"] = cents
    return {"refund": refund}
