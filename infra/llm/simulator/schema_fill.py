"""JSON valid against a request's schema, filled from what the user wrote.

Structured classification and tool arguments are the same problem: fill a JSON schema sensibly. Field
names carry the meaning: an integer `order_id` gets the order id in the text, a `query` the text itself,
an `email` the address in the text, a string enum the best keyword match, a `confidence` a number that
reflects how clear that match was, a `reason` a sentence saying why. Supported keywords: `$ref`/`$defs`,
`const`, `enum`, `anyOf`/`oneOf`/`allOf`, `type` (also lists), `properties`, `items`, `minimum`/`maximum`
(and exclusive), `minLength`/`maxLength`, `minItems`/`maxItems`. `pattern` and `format` are not enforced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from infra.llm.simulator.keywords import Choice, choose

_MAX_DEPTH = 12
_CONFIDENCE = ("confidence", "probability", "certainty", "score")
_REASON = ("reason", "explanation", "rationale", "justification", "why", "summary")
_QUERY = ("query", "question", "search", "text", "message", "q", "topic", "keywords")


@dataclass(frozen=True)
class Evidence:
    """What the user wrote, reduced to what arguments are made of."""

    text: str
    order_ids: tuple[int, ...] = ()
    emails: tuple[str, ...] = ()


@dataclass
class _Notes:
    """Choices made while filling one object, so `confidence` and `reason` can describe them."""

    choices: list[Choice] = field(default_factory=list)


def is_order_id_name(name: str) -> bool:
    """`order_id`, `orderId`, `order_number`, `id`: a field that takes the order id from the text."""
    lowered = name.lower()
    return lowered in ("id", "order", "order_no") or ("order" in lowered and ("id" in lowered or "number" in lowered))


def fill(schema: Any, evidence: Evidence, name: str = "value", order_id: int | None = None) -> Any:
    """A value valid against `schema`; `order_id` pins the id used for id-like integer fields."""
    root = schema if isinstance(schema, dict) else {}
    return _Filler(root, evidence, order_id).value(root, name, _Notes(), 0)


class _Filler:
    def __init__(self, root: dict[str, Any], evidence: Evidence, order_id: int | None) -> None:
        self.root = root
        self.evidence = evidence
        self.order_id = order_id if order_id is not None else (evidence.order_ids or (None,))[0]

    def value(self, schema: Any, name: str, notes: _Notes, depth: int) -> Any:
        if not isinstance(schema, dict) or depth > _MAX_DEPTH:
            return None
        if "$ref" in schema:
            return self.value(self._resolve(str(schema["$ref"])), name, notes, depth + 1)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return self._enum(list(schema["enum"]), notes)
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                usable = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
                return self.value((usable or options)[0], name, notes, depth + 1)
        if isinstance(schema.get("allOf"), list):
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                resolved = self._resolve(part["$ref"]) if isinstance(part, dict) and "$ref" in part else part
                merged = {**merged, **(resolved if isinstance(resolved, dict) else {})}
            return self.value(merged, name, notes, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "string"
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, name, notes, depth)
        if kind in ("integer", "number"):
            return self._number(schema, name, notes, integer=kind == "integer")
        if kind == "boolean":
            return False
        if kind == "null":
            return None
        return self._string(schema, name, notes)

    def _resolve(self, ref: str) -> Any:
        node: Any = self.root
        for part in ref.removeprefix("#/").split("/"):
            node = node.get(part) if isinstance(node, dict) else None
        return node

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties") or {}
        notes = _Notes()
        # Enums first: `confidence` and `reason` describe the choice, wherever they sit in the schema.
        ordered = sorted(properties, key=lambda key: 0 if self._is_enum(properties[key]) else 1)
        filled = {key: self.value(properties[key], key, notes, depth + 1) for key in ordered}
        return {key: filled[key] for key in properties}

    def _is_enum(self, schema: Any) -> bool:
        if isinstance(schema, dict) and "$ref" in schema:
            schema = self._resolve(str(schema["$ref"]))
        return isinstance(schema, dict) and bool(schema.get("enum"))

    def _array(self, schema: dict[str, Any], name: str, notes: _Notes, depth: int) -> list[Any]:
        items = schema.get("items") or {}
        low = int(schema.get("minItems", 1))
        high = int(schema.get("maxItems", max(low, 1)))
        ids = self.evidence.order_ids
        if (
            isinstance(items, dict)
            and items.get("type") == "integer"
            and is_order_id_name(name.removesuffix("s"))
            and ids
        ):
            return list(ids[: max(high, low)]) + [ids[0]] * max(0, low - len(ids))
        count = min(max(low, 1), high) if high > 0 else 0
        return [self.value(items, name.removesuffix("s"), notes, depth + 1) for _ in range(count)]

    def _enum(self, values: list[Any], notes: _Notes) -> Any:
        if not all(isinstance(v, str) for v in values):
            return values[0]
        choice = choose(values, self.evidence.text)
        notes.choices.append(choice)
        return choice.value

    def _number(self, schema: dict[str, Any], name: str, notes: _Notes, integer: bool) -> int | float:
        lowered = name.lower()
        if integer and is_order_id_name(name) and self.order_id is not None:
            wanted: float = self.order_id
        elif any(word in lowered for word in _CONFIDENCE):
            score = notes.choices[-1].score if notes.choices else 0.0
            wanted = round(0.55 + min(score, 4.0) * 0.1, 2) if score else 0.35
        else:
            wanted = 1
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        step = 1 if integer else 0.01
        if low is not None and wanted <= low:
            wanted = low + (step if "exclusiveMinimum" in schema and "minimum" not in schema else 0)
        if high is not None and wanted >= high:
            wanted = high - (step if "exclusiveMaximum" in schema and "maximum" not in schema else 0)
        return int(wanted) if integer else float(wanted)

    def _string(self, schema: dict[str, Any], name: str, notes: _Notes) -> str:
        lowered = name.lower()
        text = " ".join(self.evidence.text.split())
        if "email" in lowered or schema.get("format") == "email":
            value = self.evidence.emails[0] if self.evidence.emails else "customer@example.com"
        elif any(word == lowered or lowered.endswith("_" + word) for word in _REASON):
            value = notes.choices[-1].reason() if notes.choices else f"the customer wrote: {text[:120]}"
        elif any(word == lowered or lowered.endswith("_" + word) for word in _QUERY):
            value = text or "help"
        elif schema.get("format") == "date":
            value = "2025-01-01"
        elif schema.get("format") == "date-time":
            value = "2025-01-01T00:00:00Z"
        else:
            value = text[:80] or name
        high = schema.get("maxLength")
        if isinstance(high, int):
            value = value[:high]
        low = int(schema.get("minLength", 0))
        return value + "." * max(0, low - len(value))
