"""Structured logs: the redactor (properties), the filters and formatters on real records, the node
field from a real LangGraph run, and the 500 shape with its request id."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypedDict
from urllib.parse import quote_plus, urlencode

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from langgraph.graph import START, StateGraph

from infra import logs
from infra.logs import JsonFormatter, Redaction, RunContext, TextFormatter, luhn, redact
from infra.persistence.redis_client import redacted
from infra.settings import Settings
from server.app import create_app

fast = settings(max_examples=100, deadline=None)

KEY_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
unicode_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
# Text around a value, and what may stand right next to it: a card-like number stands alone.
before = st.sampled_from([" ", "\n", ": ", "(", "#", ", ", "\t", "card=", '"'])
after = st.sampled_from([" ", "\n", ".", ")", ", ", "!", '"'])


def key_body(min_size: int) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(KEY_CHARS), min_size=min_size, max_size=64)


# (prefix, body) of each kind of key.
keys = st.tuples(st.just("syk_"), key_body(40)) | st.tuples(st.just("lsv2_pt_"), key_body(16))
keys |= st.tuples(st.just("sk-proj-"), key_body(20))
# How a secret shows up in a message: bare, as a header, as a setting, in a URL.
secret_forms = st.sampled_from(
    [
        "{}",
        "Authorization: Bearer {}",
        "authorization={}",
        "x-api-key: {}",
        "{{'x-api-key': '{}'}}",
        "[(b'x-api-key', b'{}')]",
        'OPENAI_API_KEY="{}"',
        "redis://default:{}@redis.internal:6379/0",
        "GET /threads?api_key={}&limit=10",
    ]
)


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    """A Luhn-valid number of 13-19 digits, in groups joined by single spaces or dashes, or none."""
    digits = draw(st.text(st.sampled_from("0123456789"), min_size=12, max_size=18))
    digits += next(d for d in "0123456789" if luhn(digits + d))
    cuts = sorted(draw(st.sets(st.integers(1, len(digits) - 1), max_size=5)))
    groups = [digits[i:j] for i, j in zip([0, *cuts], [*cuts, len(digits)], strict=True)]
    out = groups[0]
    for group in groups[1:]:
        out += draw(st.sampled_from(" -")) + group
    return out


@fast
@given(prefix=unicode_text, key=keys, form=secret_forms, suffix=unicode_text)
def test_keys_never_survive(prefix: str, key: tuple[str, str], form: str, suffix: str) -> None:
    kind, body = key
    out = redact(prefix + " " + form.format(kind + body) + " " + suffix)
    assert kind + body not in out
    assert body not in out or body in prefix + suffix  # nor the key without its prefix


@fast
@given(prefix=unicode_text, token=st.text(st.characters(exclude_categories=("Cs", "Z", "Cc")), min_size=1))
def test_bearer_tokens_never_survive(prefix: str, token: str) -> None:
    token = re.sub(r"[\"',;]", "", token) or "t"
    out = redact(f"{prefix} Authorization: Bearer {token}")
    assert f"Bearer {token}" not in out
    assert out.endswith("***")


@fast
@given(prefix=unicode_text, left=before, card=card_numbers(), right=after, suffix=unicode_text)
def test_luhn_valid_card_numbers_never_survive(prefix: str, left: str, card: str, right: str, suffix: str) -> None:
    out = redact(prefix + left + card + right + suffix)
    assert card not in out
    assert card.replace(" ", "").replace("-", "") not in out


emails = st.builds(
    "{}@{}".format,
    st.from_regex(r"[a-z][a-z0-9._+-]{0,20}", fullmatch=True),
    st.from_regex(r"[a-z0-9]{1,12}(\.[a-z0-9]{1,8}){0,2}\.[a-z]{2,6}", fullmatch=True),
)


@fast
@given(email=emails, left=before, right=after)
def test_emails_never_survive(email: str, left: str, right: str) -> None:
    assert email not in redact(f"write to{left}{email}{right} today")


@fast
@given(email=emails, card=card_numbers(), key=keys, path=st.sampled_from(["/threads", "/runs/wait", "/x/y"]))
def test_url_encoded_values_never_survive(email: str, card: str, key: tuple[str, str], path: str) -> None:
    values = {"email": email, "card": card, "token": "".join(key)}
    out = redact(f'127.0.0.1:5000 - "GET {path}?{urlencode(values)} HTTP/1.1" 200')
    for value in values.values():
        assert value not in out and quote_plus(value) not in out


order_ids = st.integers(10000, 99999).map(str)
amounts = st.decimals(min_value=0, max_value=100000, places=2).map(str)
words = st.sampled_from("order refund for the amount of paid on card was please where is my and".split())


@fast
@given(items=st.lists(st.tuples(words, st.sampled_from(["#", "", "$", "USD "]), order_ids | amounts), max_size=8))
def test_order_ids_and_amounts_survive(items: list[tuple[str, str, str]]) -> None:
    text = " ".join(f"{word} {mark}{number}" for word, mark, number in items)
    out = redact(text)
    assert out == text
    for _, _, number in items:
        assert number in out


def test_what_stays_and_what_goes() -> None:
    run_id = "01901234-5678-7123-8456-123456789012"  # a UUID made of digits is an id, not a card
    kept = f"run {run_id} finished: order #10005, 129.99 USD, 3 calls, 1200 prompt tokens, +1 555-123-4567"
    assert redact(kept) == kept
    assert luhn("79927398713") and not luhn("79927398710")  # the textbook example
    assert redact("pay 4111 1111 1111 1111 now") == "pay [card] now"
    assert redact("ref 4111 1111 1111 1112 now") == "ref 4111 1111 1111 1112 now"  # fails Luhn: not a card
    assert redact("amex 3782-822463-10005") == "amex [card]"
    assert redact("orders 10001 4111111111111111.") == "orders 10001 [card]."
    assert redact("from jane.doe@example.com") == "from [email]"
    assert redact("key syk_" + "a" * 40) == "key syk_…[redacted]"
    assert redacted("redis://user:hunter2@redis.internal:6379/0") == "redis://user:***@redis.internal:6379/0"
    assert redacted("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


# -- records ------------------------------------------------------------------------------------

SECRET = "syk_" + "K" * 40
EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"


@pytest.fixture
def lines() -> Iterator[Any]:
    """A logger whose one handler is set up like the server's, writing JSON into a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(RunContext())
    handler.addFilter(Redaction())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False

    def read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in buffer.getvalue().splitlines()]

    yield logger, read
    logger.removeHandler(handler)


def test_a_record_is_one_redacted_json_line(lines: Any) -> None:
    logger, read = lines
    try:
        raise ValueError(f"bad input from {EMAIL}")
    except ValueError:
        logger.exception(
            "refusing %s with %s", SECRET, CARD, extra={"headers": {"x-api-key": SECRET}, "card": 4111111111111111}
        )
    [entry] = read()
    assert set(entry) == {"ts", "level", "logger", "message", "headers", "card", "exception"}
    assert entry["level"] == "ERROR" and entry["logger"] == "test.logs"
    assert entry["message"] == "refusing syk_…[redacted] with [card]"
    assert entry["headers"] == {"x-api-key": "***"} and entry["card"] == "[card]"
    assert "ValueError: bad input from [email]" in entry["exception"]
    assert SECRET not in json.dumps(entry) and EMAIL not in json.dumps(entry)


def test_records_carry_the_request_and_the_run(lines: Any) -> None:
    logger, read = lines
    token = logs.request_id.set("req-1")
    try:
        logger.info("outside any run")
        with logs.run_context("run-1", "thread-1"):
            logger.info("before the route")
            logs.annotate_run("run-1", intent="order_status", tier="rule", confidence=None)
            logger.info("after the route")
        logger.info("again", extra={"run_id": "run-1"})  # the run's annotations went with it
    finally:
        logs.request_id.reset(token)
    first, before_route, after_route, again = read()
    assert first["request_id"] == "req-1" and "run_id" not in first
    assert before_route["run_id"] == "run-1" and before_route["thread_id"] == "thread-1"
    assert "intent" not in before_route
    assert after_route["intent"] == "order_status" and after_route["tier"] == "rule"
    assert "confidence" not in after_route
    assert "intent" not in again


class Counter(TypedDict):
    n: int


async def test_records_from_a_node_carry_its_name(lines: Any) -> None:
    logger, read = lines

    async def count(state: Counter) -> Counter:
        logger.info("counting")
        return {"n": state["n"] + 1}

    def check(state: Counter) -> Counter:  # sync nodes run in a worker thread
        logger.info("checking")
        return state

    graph = StateGraph(Counter)
    graph.add_node("count", count)
    graph.add_node("check", check)
    graph.add_edge(START, "count")
    graph.add_edge("count", "check")
    with logs.run_context("run-2", "thread-2"):
        await graph.compile().ainvoke({"n": 0})
        logger.info("done")
    counting, checking, done = read()
    assert (counting["node"], checking["node"]) == ("count", "check")
    assert {counting["run_id"], checking["run_id"], done["run_id"]} == {"run-2"}
    assert "node" not in done


def test_the_text_format_keeps_the_line_and_adds_the_context() -> None:
    record = logging.makeLogRecord({"name": "switchyard.runs", "levelname": "INFO", "msg": "run %s", "args": ("r",)})
    record.__dict__.update(run_id="r", tier="rule")
    line = TextFormatter().format(record)
    assert re.fullmatch(r"\S+ \S+ INFO switchyard\.runs run r \[run_id=r tier=rule\]", line), line


# -- the 500 ------------------------------------------------------------------------------------


@pytest.fixture
def failing(tmp_path: Path) -> TestClient:
    """The real app (middleware and handlers) with one route that fails; no lifespan is needed."""
    app = create_app(Settings(db=tmp_path / "db"))

    async def boom() -> None:
        raise RuntimeError(f"internal state for {EMAIL} with {SECRET}")

    app.add_api_route("/boom", boom)
    return TestClient(app, raise_server_exceptions=False)


def test_a_500_carries_only_the_request_id(failing: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    response = failing.get("/boom", headers={"x-request-id": "client-id_1.2"})
    assert response.status_code == 500
    assert response.json() == {
        "detail": "Internal server error.",
        "code": "internal_error",
        "request_id": "client-id_1.2",
    }
    assert response.headers["x-request-id"] == "client-id_1.2"
    [record] = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert getattr(record, "request_id", None) == "client-id_1.2"
    assert record.exc_text and "RuntimeError" in record.exc_text
    assert EMAIL not in record.exc_text and SECRET not in record.exc_text


@pytest.mark.parametrize("offered", ["x" * 65, "has spaces", "semi;colon", ""])
def test_an_unusable_request_id_is_replaced(failing: TestClient, offered: str) -> None:
    response = failing.get("/boom", headers={"x-request-id": offered})
    request_id = response.json()["request_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert response.headers["x-request-id"] == request_id


def test_every_response_carries_its_id(failing: TestClient) -> None:
    ids = {failing.get("/nowhere").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3
    too_big = failing.post("/threads", content=b"x" * (Settings().max_body_bytes + 1))
    assert too_big.status_code == 413 and too_big.json()["code"] == "payload_too_large"
    assert re.fullmatch(r"[0-9a-f]{32}", too_big.headers["x-request-id"])
