"""Resume decisions for LangChain's standard human-in-the-loop requests, checked before a run starts.

A pending interrupt whose value has `action_requests` and `review_configs` expects
`{"decisions": [...]}`, one decision per action request, each of a type its review config
allows; an edit's arguments must satisfy the config's `args_schema` when it has one. A
malformed decision is refused with 422 and the thread stays interrupted. This knows the
protocol's HITL schema, nothing of any graph's domain.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator

from server.errors import Unprocessable


def _invalid(why: str) -> Unprocessable:
    return Unprocessable(f"Invalid resume decision: {why}", code="invalid_decision")


def is_review_request(value: Any) -> bool:
    return isinstance(value, Mapping) and "action_requests" in value and "review_configs" in value


def check_decisions(request: Mapping[str, Any], resume: Any) -> None:
    if not isinstance(resume, Mapping) or set(resume) != {"decisions"} or not isinstance(resume["decisions"], list):
        raise _invalid('expected {"decisions": [...]}')
    actions = request["action_requests"]
    configs = {c.get("action_name"): c for c in request["review_configs"]}
    if len(resume["decisions"]) != len(actions):
        raise _invalid(f"expected {len(actions)} decision(s), got {len(resume['decisions'])}")
    for action, decision in zip(actions, resume["decisions"], strict=True):
        config = configs.get(action["name"], {})
        if not isinstance(decision, Mapping):
            raise _invalid("each decision must be an object")
        kind = decision.get("type")
        if kind not in config.get("allowed_decisions", ()):
            raise _invalid(
                f"type {kind!r} is not allowed for {action['name']}; allowed: {config.get('allowed_decisions')}"
            )
        allowed_keys = {"type", "message"} | ({"edited_action"} if kind == "edit" else set())
        if set(decision) - allowed_keys:
            raise _invalid(f"unexpected keys {sorted(set(decision) - allowed_keys)} in a {kind} decision")
        if "message" in decision and not isinstance(decision["message"], str | None):
            raise _invalid("message must be a string")
        if kind == "edit":
            edited = decision.get("edited_action")
            if (
                not isinstance(edited, Mapping)
                or edited.get("name") != action["name"]
                or not isinstance(edited.get("args"), Mapping)
            ):
                raise _invalid(f"an edit needs edited_action with name {action['name']!r} and args")
            schema = config.get("args_schema")
            if schema:
                errors = sorted(Draft202012Validator(schema).iter_errors(edited["args"]), key=lambda e: list(e.path))
                if errors:
                    where = ".".join(str(p) for p in errors[0].path) or "args"
                    raise _invalid(f"edited {where}: {errors[0].message}")


def validate_resume(interrupts: Mapping[str, list[Any]], resume: Any) -> None:
    """Check `resume` against the thread's pending interrupts (`{task_id: [{"id", "value"}]}`)."""
    pending = [i for items in interrupts.values() for i in items if isinstance(i, Mapping)]
    reviews = [i for i in pending if is_review_request(i.get("value"))]
    if not reviews:
        return
    if len(pending) == 1:
        check_decisions(reviews[0]["value"], resume)
        return
    # Several interrupts: the resume maps interrupt ids to their answers.
    if not isinstance(resume, Mapping):
        raise _invalid("several interrupts are pending: resume with {interrupt_id: answer}")
    for item in reviews:
        if item.get("id") in resume:
            check_decisions(item["value"], resume[item["id"]])
