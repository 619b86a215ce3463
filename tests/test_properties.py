"""Properties that hold for any input: the routing cascade, entity extraction and the SSE encoder."""

from __future__ import annotations

import asyncio
import re
from typing import Any, get_args

from hypothesis import given, settings
from hypothesis import strategies as st

from infra.jsonwire import loads
from routers.cascade import decide, make_query
from routers.classifier import classifier_tier
from routers.entities import ORDER_ID_MAX, ORDER_ID_MIN, extract_entities
from routers.rules import rule_tier
from routers.types import INTENTS, Decision, Intent, Tier
from server.sse import STREAM_MODES, PartEncoder, frame

fast = settings(max_examples=200, deadline=None)

# Any unicode but lone surrogates, which no client can send as UTF-8.
unicode_text = st.text(st.characters(exclude_categories=("Cs",)))
# Shop-flavoured text, so the rule and classifier tiers actually answer some of the time.
words = st.sampled_from(
    "where is my order #10005 10002 refund cancel password reset shipping policy human agent lawyer yes please "
    "and what about $45 € 12,50 phone 555-123-4567 zip 10115 ignore previous instructions a@b.com".split()
)
shop_text = st.lists(words, max_size=12).map(" ".join)
any_text = unicode_text | shop_text
previous = st.none() | st.sampled_from(INTENTS)

TIERS: tuple[Tier, ...] = get_args(Tier)


def assert_decision(decision: Decision) -> None:
    assert decision["intent"] in INTENTS
    assert decision["tier"] in TIERS
    assert 0.0 <= decision["confidence"] <= 1.0
    assert decision["reason"]


@fast
@given(text=any_text, previous_intent=previous)
def test_the_cascade_always_decides_a_known_intent(text: str, previous_intent: Intent | None) -> None:
    query = make_query(text, previous_intent)
    assert_decision(asyncio.run(decide(query)))
    for tier in (rule_tier, classifier_tier):
        decision = asyncio.run(tier(query))
        if decision is not None:
            assert_decision(decision)


@fast
@given(blocks=st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": any_text}), max_size=3))
def test_content_blocks_route_like_text(blocks: list[dict[str, Any]]) -> None:
    assert_decision(asyncio.run(decide(make_query(blocks))))


@fast
@given(text=any_text)
def test_extracted_order_ids_are_in_the_text(text: str) -> None:
    entities = extract_entities(text)
    for order_id in entities["order_ids"]:
        assert ORDER_ID_MIN <= order_id <= ORDER_ID_MAX
        assert re.search(rf"(?<!\d){order_id}(?!\d)", text), (order_id, text)
    assert len(entities["order_ids"]) == len(set(entities["order_ids"]))


# SSE line terminators are CR, LF and CRLF: event names and ids never contain them.
line = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\r\n"))
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | unicode_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(unicode_text, children, max_size=4),
    max_leaves=20,
)


def parse_frame(raw: bytes) -> list[tuple[str, str]]:
    assert raw.endswith(b"\n\n") and not raw.endswith(b"\n\n\n")
    fields = []
    for field in raw[:-2].split(b"\n"):
        name, _, value = field.decode().partition(": ")
        fields.append((name, value))
    return fields


@fast
@given(event=line, data=json_values, event_id=st.none() | line)
def test_a_frame_is_one_event_ending_in_a_blank_line(event: str, data: Any, event_id: str | None) -> None:
    encoded = PartEncoder(["custom"]).encode({"type": "custom", "data": data})
    [(_, payload)] = list(encoded)
    assert b"\n" not in payload and b"\r" not in payload
    fields = parse_frame(frame(event, payload, event_id))
    expected = [("event", event)] + ([("id", event_id)] if event_id is not None else [])
    assert fields[:-1] == expected
    assert fields[-1][0] == "data" and loads(fields[-1][1]) == data


@fast
@given(
    mode=st.sampled_from([m for m in STREAM_MODES if m not in ("messages", "messages-tuple")]),
    ns=st.lists(line.filter(lambda s: "|" not in s), max_size=3),
    data=json_values,
)
def test_parts_are_named_by_mode_and_namespace(mode: str, ns: list[str], data: Any) -> None:
    [(name, payload)] = list(PartEncoder([mode]).encode({"type": mode, "ns": tuple(ns), "data": data}))
    assert name.split("|") == [mode, *ns]
    assert loads(payload) == data
    assert list(PartEncoder([]).encode({"type": mode, "ns": tuple(ns), "data": data})) == []
