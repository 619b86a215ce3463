"""approval: a human approves, edits or rejects a refund before money moves.

A refund above the approval limit, or one the policy alone would refuse (outside the
window, a non-refundable category), stops here with LangChain's standard human-in-the-loop
request, which Agent Chat UI renders with approve / edit / reject buttons:

    {"action_requests": [{"name": "issue_refund", "args": {...}, "description": "..."}],
     "review_configs": [{"action_name": "issue_refund", "allowed_decisions": [...], "args_schema": {...}}]}

It resumes with `{"decisions": [{"type": "approve"} | {"type": "reject", "message": ...} |
{"type": "edit", "edited_action": {"name": "issue_refund", "args": {...}}}]}`. `args_schema`
says what an edit may change: only the amount, and only downwards. The server validates
a decision against it before resuming, so a malformed one gets a 4xx and the thread
stays interrupted; should one reach this node anyway, it asks again.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from langgraph.types import interrupt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

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


class Resume(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decisions: list[Decision] = Field(min_length=1, max_length=1)


def amount(cents: int) -> float:
    return float(Decimal(cents) / 100)


def approval_request(proposal: dict[str, Any], why: str, problem: str | None = None) -> dict[str, Any]:
    args = {
        "order_id": proposal["order_id"],
        "amount": amount(proposal["amount_cents"]),
        "currency": proposal["currency"],
        "reason": proposal["reason"],
    }
    description = f"Refund {args['amount']:.2f} {args['currency']} for order #{args['order_id']}: {why}"
    if problem:
        description += f" (previous decision not accepted: {problem})"
    args_schema = {
        "type": "object",
        "properties": {
            "order_id": {"const": args["order_id"]},
            "amount": {"type": "number", "exclusiveMinimum": 0, "maximum": args["amount"], "multipleOf": 0.01},
            "currency": {"const": args["currency"]},
            "reason": {"type": "string", "maxLength": 500},
        },
        "required": ["order_id", "amount", "currency"],
        "additionalProperties": False,
    }
    return {
        "action_requests": [{"name": ACTION, "args": args, "description": description}],
        "review_configs": [
            {"action_name": ACTION, "allowed_decisions": ["approve", "edit", "reject"], "args_schema": args_schema}
        ],
    }


def check(resume: Any, proposal: dict[str, Any]) -> tuple[Decision | None, int, str | None]:
    """The decision, the approved cents, or why the decision cannot be used."""
    try:
        decision = Resume.model_validate(resume).decisions[0]
    except ValidationError as exc:
        return None, 0, "; ".join(e["msg"] for e in exc.errors()[:2])
    cents = proposal["amount_cents"]
    if decision.type == "edit":
        if decision.edited_action is None:
            return None, 0, "an edit needs edited_action"
        try:
            cents = int(Decimal(str(decision.edited_action.args["amount"])) * 100)
        except (KeyError, ArithmeticError, ValueError):
            return None, 0, "an edit needs args.amount as a number"
        if not 0 < cents <= proposal["amount_cents"]:
            return None, 0, "an edit may only lower the amount"
    return decision, cents, None


async def approval(state: SupportState) -> dict[str, Any]:
    """Reads `refund.proposal` and `refund.approval_reason`; waits for a human decision; writes
    `refund.decision` and `refund.approved_cents` (approve / edit) or a declining `answer` (reject)."""
    refund = dict(state.get("refund") or {})
    proposal = refund["proposal"]
    problem = None
    while True:  # each interrupt() in a node takes the next resume value
        decision, cents, problem = check(
            interrupt(approval_request(proposal, refund["approval_reason"], problem)), proposal
        )
        if decision is not None:
            break
    if decision.type == "reject":
        refund["decision"] = {"type": "reject", "message": decision.message}
        return {"refund": refund, "answer": templates.refund_rejected(proposal["order_id"], decision.message)}
    refund["decision"] = {"type": decision.type, "amount_cents": cents}
    refund["approved_cents"] = cents
    return {"refund": refund}
