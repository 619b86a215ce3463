"""Per-key and per-tenant limits on the real server: one process on SQLite, and two scale-out processes
on one Redis, where consecutive requests go to different processes, so every limit must be shared."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.persistence.api_keys import new_key
from tests.support import copy_db, running_server, server_pair

LIMITS = {
    "SWITCHYARD_AUTH": "on",
    "SWITCHYARD_RUNS_PER_MINUTE": "4",
    "SWITCHYARD_MAX_STREAMS_PER_KEY": "2",
    "SWITCHYARD_MAX_THREADS_PER_TENANT": "3",
    "SWITCHYARD_MAX_MESSAGE_CHARS": "200",
}
TENANTS = ("runs", "runs2", "streams", "quota", "messages")


def turn(text: str = "where is order #10005") -> dict[str, Any]:
    return {"assistant_id": "support", "input": {"messages": [{"role": "user", "content": text}]}}


class Servers:
    """The servers of one mode, each request to the next one in turn; a key per tenant."""

    def __init__(self, urls: list[str], keys: dict[str, str]) -> None:
        self.urls = itertools.cycle(urls)
        self.keys = keys

    def request(self, tenant: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"x-api-key": self.keys[tenant], **kwargs.pop("headers", {})}
        return httpx.request(method, next(self.urls) + path, headers=headers, timeout=60, **kwargs)

    def stream(self, tenant: str, path: str) -> Any:
        return httpx.stream("GET", next(self.urls) + path, headers={"x-api-key": self.keys[tenant]}, timeout=60)


@pytest.fixture(scope="module", params=["embedded", "scale-out"])
def servers(
    request: pytest.FixtureRequest, shop_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Servers]:
    folder = tmp_path_factory.mktemp("limits")
    db = copy_db(shop_template, folder / "db")
    made = {tenant: new_key(tenant, "ops") for tenant in TENANTS}
    entries = [{"id": r.key_id, "tenant": r.tenant, "user": r.user, "sha256": r.sha256} for _, r in made.values()]
    env = {**LIMITS, "SWITCHYARD_API_KEYS": json.dumps(entries)}
    keys = {tenant: key for tenant, (key, _) in made.items()}
    with ExitStack() as stack:
        if request.param == "embedded":
            processes = [stack.enter_context(running_server(db, folder / "server.log", env=env))]
        else:
            processes = stack.enter_context(server_pair(db, folder, request.getfixturevalue("shared_redis"), env))
        yield Servers([p.url for p in processes], keys)


def new_thread(servers: Servers, tenant: str) -> str:
    response = servers.request(tenant, "POST", "/threads", json={})
    assert response.status_code == 200, response.text
    return str(response.json()["thread_id"])


def test_runs_per_minute_per_key(servers: Servers) -> None:
    tid = new_thread(servers, "runs")
    for _ in range(4):
        assert servers.request("runs", "POST", f"/threads/{tid}/runs", json=turn()).status_code == 200
    refused = servers.request("runs", "POST", f"/threads/{tid}/runs", json=turn())
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited", refused.text
    # The bucket refills one run every 15 s.
    assert 1 <= int(refused.headers["Retry-After"]) <= 15
    # Nothing was half-done: the refused request left no run behind.
    runs = servers.request("runs", "GET", f"/threads/{tid}/runs", params={"limit": 100}).json()
    assert len(runs) == 4
    # Another key has its own budget.
    other = new_thread(servers, "runs2")
    assert servers.request("runs2", "POST", f"/threads/{other}/runs/wait", json=turn()).status_code == 200


def test_concurrent_streams_per_key(servers: Servers) -> None:
    tid = new_thread(servers, "streams")
    with (
        servers.stream("streams", f"/threads/{tid}/stream") as first,
        servers.stream("streams", f"/threads/{tid}/stream") as second,
    ):
        assert first.status_code == second.status_code == 200
        refused = servers.request("streams", "POST", f"/threads/{tid}/runs/stream", json=turn())
        assert refused.status_code == 429 and refused.json()["code"] == "too_many_streams", refused.text
        assert refused.headers["Retry-After"]
        # The refused stream started no run.
        assert servers.request("streams", "GET", f"/threads/{tid}/runs").json() == []
    # Closed streams give their slots back (the server notices the disconnect).
    deadline = time.monotonic() + 10
    while True:
        response = servers.request("streams", "POST", f"/threads/{tid}/runs/stream", json=turn())
        if response.status_code == 200:
            assert "event: end" in response.text
            break
        assert response.status_code == 429 and time.monotonic() < deadline, response.text
        time.sleep(0.2)


def test_threads_per_tenant(servers: Servers) -> None:
    threads = [new_thread(servers, "quota") for _ in range(3)]
    refused = servers.request("quota", "POST", "/threads", json={})
    assert refused.status_code == 403 and refused.json()["code"] == "thread_quota_exceeded", refused.text
    # A run that would create a thread counts too.
    stateless = servers.request("quota", "POST", "/runs/wait", json=turn())
    assert stateless.status_code == 403 and stateless.json()["code"] == "thread_quota_exceeded"
    assert servers.request("quota", "POST", "/threads/count", json={}).json() == 3
    # Runs on the tenant's existing threads still work; deleting a thread makes room.
    assert servers.request("quota", "POST", f"/threads/{threads[0]}/runs/wait", json=turn()).status_code == 200
    assert servers.request("quota", "DELETE", f"/threads/{threads[1]}").status_code == 204
    new_thread(servers, "quota")


def test_message_length(servers: Servers) -> None:
    tid = new_thread(servers, "messages")
    long = "where is order #10005 " + "x" * 200
    refused = servers.request("messages", "POST", f"/threads/{tid}/runs/wait", json=turn(long))
    assert refused.status_code == 422 and refused.json()["code"] == "message_too_long", refused.text
    parts = {"messages": [{"role": "user", "content": [{"type": "text", "text": long}]}]}
    refused = servers.request(
        "messages", "POST", f"/threads/{tid}/runs/wait", json={"assistant_id": "support", "input": parts}
    )
    assert refused.status_code == 422 and refused.json()["code"] == "message_too_long"
    assert servers.request("messages", "GET", f"/threads/{tid}/runs").json() == []
    assert servers.request("messages", "POST", f"/threads/{tid}/runs/wait", json=turn()).status_code == 200
