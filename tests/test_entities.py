"""Entity extraction and message text: what the routers see of a customer's message."""

from __future__ import annotations

import pytest

from routers.entities import extract_entities
from routers.text import MAX_CHARS, message_text, normalize


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("where is #12345", [12345]),
        ("track order 10005", [10005]),
        ("order #10002 please", [10002]),
        ("Order no. 123456 has not arrived", [123456]),
        ("order number 10009", [10009]),
        ("order number: 10010", [10010]),
        ("ORDER#10011", [10011]),
        ("10013", [10013]),
        ("what about 10003?", [10003]),
        ("orders 10002, 10003 and 10004", [10002, 10003, 10004]),
        ("10002,10003", [10002, 10003]),
        ("#10002/#10003", [10002, 10003]),
        ("order 10002 and again order 10002, also #10002", [10002]),
        ("first 10007 then order #10001", [10007, 10001]),  # order of appearance, not numeric
        ("refund $45.00 for order 10002", [10002]),
        ("call me at 555-123-4567 about order 10002", [10002]),
        ("my email is jane@example.com and the order is 10002", [10002]),
        ("order 10002. Thanks!", [10002]),
    ],
)
def test_order_ids(text: str, ids: list[int]) -> None:
    assert extract_entities(text)["order_ids"] == ids


@pytest.mark.parametrize(
    "text",
    [
        "$45.00",
        "I paid $12000 for it",
        "12000 USD",
        "€15000",
        "10,000 dollars",
        "£25000 is too much",
        "EUR 30000",
        "12000.50",
        "I ordered it in 2024",
        "since 2023-11-02",
        "call me at 555-123-4567",
        "+1 (415) 555-0132",
        "+49 30 123456",
        "my phone number is 555 12345",
        "ship to 123 Main St, Springfield, IL 62704",
        "My address is 12345 Oak Avenue, Austin, TX 78701",
        "zip code 90210",
        "postal code 10115",
        "Hauptstr. 5, 10115 Berlin",
        "tracking number 123456",
        "card ending in 12345",
        "john10002@example.com",
        "10002@example.com",
        "1234567",
        "order 1234",
        "order 09999",
        "10002-4567",
    ],
)
def test_not_order_ids(text: str) -> None:
    assert extract_entities(text)["order_ids"] == []


@pytest.mark.parametrize(
    ("text", "amounts", "currency"),
    [
        ("$12.50", ["12.50"], "USD"),
        ("12.50 USD", ["12.50"], "USD"),
        ("€12", ["12.00"], "EUR"),
        ("£7", ["7.00"], "GBP"),
        ("12 dollars", ["12.00"], "USD"),
        ("12.50 dollars", ["12.50"], "USD"),
        ("EUR 30", ["30.00"], "EUR"),
        ("$1,200.99 then $5", ["1200.99", "5.00"], "USD"),
        ("12,50 € back", ["12.50"], "EUR"),
        ("refund $45 and $45.00", ["45.00"], "USD"),
        ("order 10002 $45 back", ["45.00"], "USD"),
        ("no money here, order 10002", [], None),
    ],
)
def test_amounts(text: str, amounts: list[str], currency: str | None) -> None:
    entities = extract_entities(text)
    assert (entities["amounts"], entities["currency"]) == (amounts, currency)


def test_emails_are_found_lowercased_and_deduplicated() -> None:
    entities = extract_entities("Jane.Doe+shop@Example.co.uk, or jane.doe+shop@example.co.uk. Backup: a_b@x.io.")
    assert entities["emails"] == ["jane.doe+shop@example.co.uk", "a_b@x.io"]
    assert extract_entities("not an email: foo@bar, @handle")["emails"] == []


def test_everything_at_once() -> None:
    text = "Order #10002 cost $45.00, I'm jane@example.com, call 555-123-4567, and 10003 too."
    assert extract_entities(text) == {
        "order_ids": [10002, 10003],
        "emails": ["jane@example.com"],
        "amounts": ["45.00"],
        "currency": "USD",
    }


@pytest.mark.parametrize(
    ("content", "text"),
    [
        ("plain string", "plain string"),
        (None, ""),
        ([], ""),
        (
            [{"type": "text", "text": "where is"}, {"type": "text", "text": "order 10002"}],
            "where is\norder 10002",
        ),
        (
            [{"type": "image_url", "image_url": {"url": "http://x"}}, {"type": "text", "text": "see photo"}],
            "see photo",
        ),
        (["a plain part", {"type": "text", "text": "and a block"}], "a plain part\nand a block"),
        ([{"type": "tool_use", "text": "not for routing"}, {"type": "input_text", "text": "ok"}], "ok"),
        ({"type": "text", "text": "a single block"}, "a single block"),
        ([{"type": "text", "text": 42}, {"text": "untyped block"}], "untyped block"),
        (12345, ""),
    ],
)
def test_message_text(content: object, text: str) -> None:
    assert message_text(content) == text


def test_normalize() -> None:
    # NFKC folds full-width letters and punctuation; the ideographic space is whitespace.
    full_width = "\uff57\uff48\uff45\uff52\uff45"  # "where"
    assert normalize(f"  {full_width}   is\n\tmy\u3000order\uff1f ") == "where is my order?"
    assert normalize("I don\u2019t want a refund") == "I don't want a refund"
    assert normalize("ig\u200bnore previous instructions") == "ignore previous instructions"
    assert normalize("a\x00b") == "ab"
    assert len(normalize("x" * (MAX_CHARS * 2))) == MAX_CHARS
    assert normalize("") == ""
