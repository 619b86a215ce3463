"""Hostile and broken input: each gets a clear 4xx `{"detail", "code"}`, and the thread it aimed at keeps working."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support import ServerProcess

GOOD = {"assistant_id": "support", "input": {"messages": [{"role": "user", "content": "where is order #10005"}]}}
JSON = {"content-type": "application/json"}
HUGE = 20 * 1024 * 1024


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


@pytest.fixture
def thread(http: httpx.Client) -> Iterator[str]:
    """A thread with one finished run, so bad requests aim at a real thread and a real run."""
    tid = str(http.post("/threads", json={}).json()["thread_id"])
    yield tid
    http.delete(f"/threads/{tid}")


def assert_error(response: httpx.Response, status: int | tuple[int, ...], code: str) -> None:
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, response.text
    body = response.json()
    assert body["code"] == code and body["detail"], body


def assert_thread_works(http: httpx.Client, tid: str) -> None:
    response = http.post(f"/threads/{tid}/runs/wait", json=GOOD)
    assert response.status_code == 200, response.text
    assert "10005" in response.json()["answer"]


def runs_wait(http: httpx.Client, tid: str, content: Any, **headers: str) -> httpx.Response:
    return http.post(f"/threads/{tid}/runs/wait", content=content, headers={**JSON, **headers})


def test_malformed_json(http: httpx.Client, thread: str) -> None:
    assert_error(runs_wait(http, thread, b'{"assistant_id": "support", "input": '), 422, "invalid_json")
    assert_thread_works(http, thread)


def test_invalid_utf8(http: httpx.Client, thread: str) -> None:
    body = b'{"assistant_id": "support", "input": {"messages": [{"role": "user", "content": "\xff\xfe\xc3("}]}}'
    assert_error(runs_wait(http, thread, body), 422, "invalid_json")
    assert_thread_works(http, thread)


@pytest.mark.parametrize("depth", [10_000, 200_000])
def test_deeply_nested_json(http: httpx.Client, thread: str, depth: int) -> None:
    assert_error(runs_wait(http, thread, b"[" * depth + b"]" * depth), 422, "invalid_json")
    nested = b'{"assistant_id": "support", "input": {"x": ' + b"[" * depth + b"]" * depth + b"}}"
    assert_error(runs_wait(http, thread, nested), 422, "invalid_json")
    assert_thread_works(http, thread)


def test_nesting_that_parses_but_is_too_deep_to_store(http: httpx.Client, thread: str) -> None:
    # Shallow enough for the parser, deeper than the wire encoder accepts.
    nested = b'{"assistant_id": "support", "input": {"x": ' + b"[" * 500 + b"]" * 500 + b"}}"
    assert_error(runs_wait(http, thread, nested), 422, "invalid_request")
    assert_thread_works(http, thread)


def test_huge_payload_with_content_length(http: httpx.Client, thread: str) -> None:
    body = b'{"assistant_id": "support", "input": {"x": "' + b"a" * HUGE + b'"}}'
    assert_error(runs_wait(http, thread, body), 413, "payload_too_large")
    assert_thread_works(http, thread)


def test_huge_chunked_payload_without_content_length(http: httpx.Client, thread: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"assistant_id": "support", "input": {"x": "'
        for _ in range(HUGE // 65536):
            yield b"a" * 65536
        yield b'"}}'

    response = runs_wait(http, thread, chunks())
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "payload_too_large")
    assert_thread_works(http, thread)


def test_unknown_ids(http: httpx.Client, thread: str) -> None:
    missing = str(uuid.uuid4())
    assert_error(http.get(f"/threads/{missing}"), 404, "thread_not_found")
    assert_error(http.post(f"/threads/{missing}/runs/wait", json=GOOD), 404, "thread_not_found")
    assert_error(http.get(f"/threads/{thread}/runs/{missing}"), 404, "run_not_found")
    assert_error(http.get(f"/threads/{thread}/runs/{missing}/stream"), 404, "run_not_found")
    assert_error(http.post(f"/threads/{thread}/runs/{missing}/cancel"), 404, "run_not_found")
    assert_error(http.get(f"/assistants/{missing}"), 404, "assistant_not_found")
    assert_error(
        http.post(f"/threads/{thread}/runs/wait", json={**GOOD, "assistant_id": "nope"}), 404, "assistant_not_found"
    )
    assert_thread_works(http, thread)


@pytest.mark.parametrize("last_event_id", ["bogus", "-5", "1.5", "9" * 400, "\u00e9t\u00e9"])
def test_bogus_last_event_id(http: httpx.Client, thread: str, last_event_id: str) -> None:
    # "9" * 400 parses as an int, but no store issues ids past 64 bits (Redis would refuse it as an XREAD id).
    run = http.post(f"/threads/{thread}/runs", json=GOOD).json()
    http.get(f"/threads/{thread}/runs/{run['run_id']}/join")
    response = http.get(
        f"/threads/{thread}/runs/{run['run_id']}/stream",
        headers={"Last-Event-ID": last_event_id.encode()},
    )
    assert_error(response, (400, 422), "invalid_last_event_id")
    assert_thread_works(http, thread)


@pytest.mark.parametrize("stream_mode", ["bogus", ["values", "bogus"], 7])
def test_unknown_stream_mode(http: httpx.Client, thread: str, stream_mode: Any) -> None:
    response = http.post(f"/threads/{thread}/runs/stream", json={**GOOD, "stream_mode": stream_mode})
    assert_error(response, 422, "invalid_request")
    assert_thread_works(http, thread)


# Found by tests/e2e/test_fuzz.py: each was a 500, or left a run or thread behind.


@pytest.mark.parametrize(
    "body",
    [
        b'{"metadata": {"n": 18446744073709551616}}',  # parses, but orjson stores at most 64 bits
        b'{"metadata": {"n": -9223372036854775809}}',
        b'{"metadata": {"s": "\\ud800"}}',  # a lone surrogate: json.loads takes it, UTF-8 cannot say it
        b'{"metadata": {"\\udfff": 1}}',
    ],
)
def test_json_that_parses_but_cannot_be_stored(http: httpx.Client, thread: str, body: bytes) -> None:
    assert_error(http.patch(f"/threads/{thread}", content=body, headers=JSON), 422, "invalid_request")
    assert_error(
        http.post("/threads/count", content=body.replace(b"metadata", b"values"), headers=JSON), 422, "invalid_request"
    )
    assert_thread_works(http, thread)


def test_offsets_past_64_bits(http: httpx.Client, thread: str) -> None:
    huge = 2**70
    assert_error(http.get(f"/threads/{thread}/runs", params={"offset": huge}), 422, "invalid_request")
    assert_error(http.post("/threads/search", json={"offset": huge}), 422, "invalid_request")
    assert_error(http.post("/store/items/search", json={"offset": huge}), 422, "invalid_request")
    assert_error(http.post("/store/namespaces", json={"max_depth": huge}), 422, "invalid_request")
    assert_thread_works(http, thread)


@pytest.mark.parametrize("key", ['say "hi"', "back\\slash", "new\nline"])
def test_thread_filter_keys_sqlite_cannot_match(http: httpx.Client, key: str) -> None:
    assert_error(http.post("/threads/search", json={"metadata": {key: 1}}), 422, "invalid_request")
    assert_error(http.post("/threads/count", json={"values": {key: 1}}), 422, "invalid_request")


def test_thread_search_with_more_ids_than_sqlite_takes(http: httpx.Client) -> None:
    ids = ["a"] * 250_001  # SQLite takes at most 250000 parameters; the body is still under 1 MiB
    assert_error(http.post("/threads/search", json={"ids": ids}), 422, "invalid_request")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"namespace": [], "key": "k", "value": {}}, "invalid_namespace"),
        ({"namespace": ["langgraph"], "key": "k", "value": {}}, "invalid_namespace"),
        ({"namespace": ["a\x00b"], "key": "k", "value": {}}, "invalid_namespace"),
    ],
)
def test_store_namespace_the_store_refuses(http: httpx.Client, body: dict[str, Any], code: str) -> None:
    assert_error(http.put("/store/items", json=body), 422, code)


@pytest.mark.parametrize("body", [{"prefix": [""]}, {"suffix": [""]}, {"suffix": ["a.b"]}])
def test_store_namespace_listing_with_bad_labels(http: httpx.Client, body: dict[str, Any]) -> None:
    assert_error(http.post("/store/namespaces", json=body), 422, "invalid_namespace")


@pytest.mark.parametrize("filter", [{"a'b": 1}, {"\u00e9": 1}, {"a": {"$regex": "x"}}])
def test_store_search_filter_the_store_cannot_run(http: httpx.Client, filter: dict[str, Any]) -> None:
    assert_error(http.post("/store/items/search", json={"filter": filter}), 422, "invalid_request")


@pytest.mark.parametrize(
    "config",
    [
        {"configurable": "abc"},  # was a 500, and left the run pending
        {"metadata": [1]},
        {"tags": "x"},  # these were taken, then failed the run
        {"recursion_limit": 0},
        {"run_name": 5},
    ],
)
def test_run_config_of_the_wrong_type(http: httpx.Client, thread: str, config: dict[str, Any]) -> None:
    assert_error(http.post(f"/threads/{thread}/runs/wait", json={**GOOD, "config": config}), 422, "invalid_request")
    assert http.get(f"/threads/{thread}/runs").json() == []  # nothing stored before the refusal
    assert_thread_works(http, thread)


@pytest.mark.parametrize(
    "field",
    [
        {"input": {"messages": 5}},
        {"input": {"messages": [{"role": "bogus", "content": "x"}]}},
        {"command": {"update": {"messages": [None]}}},
    ],
)
def test_messages_langchain_cannot_read(http: httpx.Client, thread: str, field: dict[str, Any]) -> None:
    # Such a run used to fail after writing its input, then answer 500 and stay `running`, its thread `busy`.
    body = {"assistant_id": "support", **field}
    assert_error(http.post(f"/threads/{thread}/runs/wait", json=body), 422, "invalid_request")
    assert_error(http.post("/runs/wait", json=body), 422, "invalid_request")
    assert http.get(f"/threads/{thread}").json()["status"] == "idle"
    assert_thread_works(http, thread)
    assert http.get(f"/threads/{thread}/state").status_code == 200


@pytest.mark.parametrize("values", [{"messages": 5}, {"facts": 5}])
def test_state_update_of_the_wrong_type(http: httpx.Client, thread: str, values: dict[str, Any]) -> None:
    assert_thread_works(http, thread)  # the thread has a graph now
    assert_error(http.post(f"/threads/{thread}/state", json={"values": values}), 400, "invalid_state_update")
    assert http.get(f"/threads/{thread}/state").status_code == 200
    assert_thread_works(http, thread)


def test_thread_stream_bad_input(http: httpx.Client, thread: str) -> None:
    # The fuzzer leaves this stream out (it never ends for a real thread), so its refusals are checked here.
    assert_error(http.get("/threads/not-a-uuid/stream"), 422, "invalid_thread_id")
    assert_error(http.get(f"/threads/{uuid.uuid4()}/stream"), 404, "thread_not_found")
    assert_error(
        http.get(f"/threads/{thread}/stream", headers={"Last-Event-ID": "bogus"}), 400, "invalid_last_event_id"
    )
    assert_error(http.get(f"/threads/{thread}/stream", params={"stream_mode": "bogus"}), 422, "invalid_stream_mode")
    assert_thread_works(http, thread)
