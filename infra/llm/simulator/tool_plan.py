"""Which of the offered tools a sensible agent would call for the last user message, and with what.

The best-fitting tool is chosen by keyword overlap with its name (weighted 3) and description (weighted 1),
after the user's words are widened by the concepts they match ("money back" adds "refund"). A tool whose
required arguments cannot be filled from the text (an order id, an email) is never called. A refund-like
request prefers a tool that mentions refunds, and among those one that acts rather than looks up.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from infra.llm.simulator.conversation import SimRequestError
from infra.llm.simulator.keywords import concepts, expanded_words, overlap, words
from infra.llm.simulator.schema_fill import Evidence, fill, is_order_id_name

_LOOKUP_PREFIXES = ("get", "search", "list", "find", "lookup", "fetch", "read", "check")


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]

    def required(self) -> dict[str, dict[str, Any]]:
        properties = self.parameters.get("properties") or {}
        return {k: properties.get(k) or {} for k in self.parameters.get("required") or []}

    def order_id_params(self) -> list[str]:
        return [k for k, s in self.required().items() if s.get("type") == "integer" and is_order_id_name(k)]

    def is_lookup(self) -> bool:
        return self.name.lower().startswith(_LOOKUP_PREFIXES)


@dataclass(frozen=True)
class PlannedCall:
    id: str
    name: str
    arguments: str  # JSON text, as on the wire; a fault may make it malformed


def read_tools(raw: Any) -> list[ToolSpec]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise SimRequestError("'tools' must be a list")
    specs = []
    for tool in raw:
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise SimRequestError("every tool must be {'type': 'function', 'function': {'name': ...}}")
        parameters = function.get("parameters")
        specs.append(
            ToolSpec(
                name=function["name"],
                description=str(function.get("description") or ""),
                parameters=parameters if isinstance(parameters, dict) else {"type": "object", "properties": {}},
            )
        )
    return specs


def forced_tool(tool_choice: Any) -> str | None:
    """The function `tool_choice` forces (what `with_structured_output(method="function_calling")` sends)."""
    if isinstance(tool_choice, dict):
        function = tool_choice.get("function")
        name = function.get("name") if isinstance(function, dict) else tool_choice.get("name")
        return str(name) if name else None
    return None


def call_id(seed: str, index: int) -> str:
    """Deterministic per request content, so golden tests can pin whole transcripts."""
    return "call_" + hashlib.sha256(f"{seed}|{index}".encode()).hexdigest()[:24]


def _fillable(spec: ToolSpec, evidence: Evidence) -> bool:
    for key, schema in spec.required().items():
        if schema.get("type") == "integer" and is_order_id_name(key) and not evidence.order_ids:
            return False
        if "email" in key.lower() and not evidence.emails:
            return False
    return True


def _score(spec: ToolSpec, user_words: set[str], refund_like: bool) -> float:
    name_words = words(spec.name)
    score = 3.0 * overlap(user_words, name_words) + overlap(user_words, words(spec.description))
    if refund_like and "refund" in f"{spec.name} {spec.description}".lower():
        score += 2.0 if spec.is_lookup() else 4.0
    return score


def best_tool(specs: list[ToolSpec], evidence: Evidence) -> ToolSpec | None:
    """The tool that fits the text best, or None when none fits (then the model answers directly)."""
    user_words = {w for w in expanded_words(evidence.text) if not w.isdigit()}
    found = concepts(evidence.text)
    refund_like = bool(found) and max(found, key=lambda concept: found[concept]) == "refund"
    best: tuple[float, ToolSpec] | None = None
    for spec in specs:
        if not _fillable(spec, evidence):
            continue
        score = _score(spec, user_words, refund_like)
        if score > 0 and (best is None or score > best[0]):
            best = (score, spec)
    return best[1] if best else None


def calls_for(spec: ToolSpec, evidence: Evidence, seed: str, parallel: bool = True) -> list[PlannedCall]:
    """One call, or one per order id when the tool takes an order id and the text names several."""
    ids: list[int | None] = list(evidence.order_ids) if spec.order_id_params() else [None]
    if not parallel:
        ids = ids[:1]
    return [
        PlannedCall(
            id=call_id(seed, index),
            name=spec.name,
            arguments=json.dumps(fill(spec.parameters, evidence, order_id=order_id)),
        )
        for index, order_id in enumerate(ids or [None])
    ]


def break_arguments(call: PlannedCall) -> PlannedCall:
    """The same call with arguments no JSON parser (nor LangChain's partial-JSON repair) accepts."""
    return PlannedCall(id=call.id, name=call.name, arguments=call.arguments.rstrip("}") + ",,}")
