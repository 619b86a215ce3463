"""Wire details real clients depend on: framing, headers, CORS, content types, and clear 4xx errors."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.support import ServerProcess


@pytest.fixture
def http(server: ServerProcess) -> Any:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def new_thread(http: httpx.Client) -> str:
    return str(http.post("/threads", json={}).json()["thread_id"])


def test_sse_framing_and_headers(http: httpx.Client) -> None:
    tid = new_thread(http)
    body = {
        "assistant_id": "support",
        "input": {"messages": [{"role": "user", "content": "where is order 10005"}]},
        "stream_mode": ["updates"],
    }
    response = http.post(f"/threads/{tid}/runs/stream", json=body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    run_path = response.headers["content-location"]
    assert run_path.startswith(f"/threads/{tid}/runs/")
    assert response.headers["location"] == run_path + "/stream"
    frames = [f for f in response.text.split("\n\n") if f.strip()]
    for f in frames:
        lines = f.split("\n")
        assert lines[0].startswith("event: ") and lines[-1].startswith("data: ") and len(lines) == 2
    assert frames[0].startswith('event: metadata\ndata: {"run_id":')
    assert frames[-1] == "event: end\ndata: null"
    assert http.get(run_path).json()["status"] == "success"


def test_json_sent_as_text_plain_is_accepted(http: httpx.Client) -> None:
    response = http.post(
        "/threads/search",
        content=b'{"metadata":{"graph_id":"support"},"limit":100,"offset":0}',
        headers={"content-type": "text/plain;charset=UTF-8", "x-auth-scheme": "langsmith"},
    )
    assert response.status_code == 200
    assert isinstance(response.json(), list)


def test_studio_cors_preflight_with_private_network(http: httpx.Client) -> None:
    response = http.options(
        "/threads/search",
        headers={
            "Origin": "https://smith.langchain.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-auth-scheme",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-private-network"] == "true"
    assert "POST" in response.headers["access-control-allow-methods"]
    simple = http.get("/info", headers={"Origin": "https://smith.langchain.com"})
    assert "content-location" in simple.headers["access-control-expose-headers"].lower()


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("get", f"/threads/{uuid.uuid4()}", None, 404, "thread_not_found"),
        ("get", "/threads/not-a-uuid", None, 422, "invalid_thread_id"),
        ("get", f"/assistants/{uuid.uuid4()}", None, 404, "assistant_not_found"),
        ("post", "/assistants/search", {"graph_id": "nope"}, 404, "graph_not_found"),
        ("post", "/threads", {"metadata": {}, "surprise": 1}, 422, "invalid_request"),
        (
            "post",
            f"/threads/{uuid.uuid4()}/runs/wait",
            {"assistant_id": "support", "input": {}},
            404,
            "thread_not_found",
        ),
        ("post", "/runs/wait", {"assistant_id": "nope", "input": {}}, 404, "assistant_not_found"),
        (
            "post",
            "/runs/wait",
            {"assistant_id": "support", "webhook": "http://127.0.0.1:9/x"},
            422,
            "unsupported_field",
        ),
        (
            "post",
            "/runs/wait",
            {"assistant_id": "support", "after_seconds": 5},
            422,
            "unsupported_field",
        ),
        ("post", "/runs/wait", {"assistant_id": "support", "stream_mode": "bogus"}, 422, "invalid_request"),
        (
            "post",
            "/runs/wait",
            {"assistant_id": "support", "config": {"callbacks": []}},
            422,
            "unsupported_field",
        ),
    ],
)
def test_bad_requests_get_clear_errors(
    http: httpx.Client, method: str, path: str, body: Any, status: int, code: str
) -> None:
    response = http.request(method.upper(), path, json=body)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert response.json()["detail"]


def test_malformed_json_then_the_thread_still_works(http: httpx.Client) -> None:
    tid = new_thread(http)
    bad = http.post(
        f"/threads/{tid}/runs/wait",
        content=b'{"assistant_id": "support", "input": ',
        headers={"content-type": "application/json"},
    )
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_json"
    good = http.post(
        f"/threads/{tid}/runs/wait",
        json={
            "assistant_id": "support",
            "input": {"messages": [{"role": "user", "content": "where is order 10005"}]},
        },
    )
    assert good.status_code == 200 and "#10005" in good.json()["answer"]


def test_reject_strategy_refuses_a_busy_thread(http: httpx.Client) -> None:
    tid = new_thread(http)
    body = {
        "assistant_id": "support",
        "input": {"messages": [{"role": "user", "content": "where is order 10005"}]},
    }
    first = http.post(f"/threads/{tid}/runs", json=body).json()
    second = http.post(f"/threads/{tid}/runs", json={**body, "multitask_strategy": "reject"})
    # The first run may already be done on a fast machine; then the second is accepted.
    if second.status_code == 409:
        assert second.json()["code"] == "thread_busy"
    else:
        assert second.status_code == 200
    http.get(f"/threads/{tid}/runs/{first['run_id']}/join")


def test_enqueued_runs_run_one_at_a_time_in_order(http: httpx.Client) -> None:
    tid = new_thread(http)
    runs = [
        http.post(
            f"/threads/{tid}/runs",
            json={
                "assistant_id": "support",
                "input": {"messages": [{"role": "user", "content": f"where is order #{order}"}]},
            },
        ).json()
        for order in (10005, 10002, 10013)
    ]
    for run in runs:
        http.get(f"/threads/{tid}/runs/{run['run_id']}/join")
    state = http.get(f"/threads/{tid}/state").json()
    answers = [m["content"] for m in state["values"]["messages"] if m["type"] == "ai"]
    assert [a.split()[1] for a in answers] == ["#10005", "#10002", "#10013"]
    assert http.get(f"/threads/{tid}").json()["status"] == "idle"


def test_store_endpoints(http: httpx.Client) -> None:
    assert (
        http.put("/store/items", json={"namespace": ["memories", "u1"], "key": "k", "value": {"a": 1}}).status_code
        == 204
    )
    item = http.get("/store/items", params={"namespace": ["memories", "u1"], "key": "k"}).json()
    assert item["value"] == {"a": 1} and item["namespace"] == ["memories", "u1"]
    found = http.post("/store/items/search", json={"namespace_prefix": ["memories"]}).json()
    assert [i["key"] for i in found["items"]] == ["k"]
    assert ["memories", "u1"] in http.post("/store/namespaces", json={}).json()["namespaces"]
    assert http.request("DELETE", "/store/items", json={"namespace": ["memories", "u1"], "key": "k"}).status_code == 204
    assert http.get("/store/items", params={"namespace": ["memories", "u1"], "key": "k"}).status_code == 404


def test_update_state_and_copy_fork(http: httpx.Client) -> None:
    tid = new_thread(http)
    http.post(
        f"/threads/{tid}/runs/wait",
        json={
            "assistant_id": "support",
            "input": {"messages": [{"role": "user", "content": "where is order 10005"}]},
        },
    )
    before = http.get(f"/threads/{tid}/state").json()
    forked = http.post(f"/threads/{tid}/state", json={"values": None, "as_node": "__copy__"})
    assert forked.status_code == 200, forked.text
    after = http.get(f"/threads/{tid}/state").json()
    assert after["checkpoint"]["checkpoint_id"] == forked.json()["checkpoint"]["checkpoint_id"]
    assert after["checkpoint"]["checkpoint_id"] != before["checkpoint"]["checkpoint_id"]
    assert after["values"] == before["values"]
    edited = http.post(f"/threads/{tid}/state", json={"values": {"answer": "edited"}, "as_node": "respond"})
    assert edited.status_code == 200
    assert http.get(f"/threads/{tid}/state").json()["values"]["answer"] == "edited"
    bad = http.post(f"/threads/{tid}/state", json={"values": {"answer": "x"}, "as_node": "no_such_node"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_state_update"


def test_health_and_info(http: httpx.Client) -> None:
    health = http.get("/health").json()
    storage = "redis" if health["mode"]["storage"] == "scale-out" else "database"
    assert health["ok"] is True and health["checks"][storage]["ok"] is True
    info = http.get("/info").json()
    assert info["mode"] == health["mode"]
    assert info["langgraph_py_version"].startswith("1.")
    assert http.get("/docs").status_code == 200
    assert "/threads/{thread_id}/runs/stream" in http.get("/openapi.json").json()["paths"]
