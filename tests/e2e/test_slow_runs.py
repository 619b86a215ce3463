"""Runs slow enough to watch: heartbeats, client disconnects (continue / cancel), Agent Chat UI's profile."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shop import fixtures
from tests.support import ServerProcess, copy_db, running_server

SLOW = {"SWITCHYARD_TOOL_LATENCY_MS": "400", "SWITCHYARD_HEARTBEAT_SECONDS": "0.2"}


@pytest.fixture(scope="module")
def slow_server(shop_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("slow")
    with running_server(copy_db(shop_template, folder / "db"), folder / "server.log", env=SLOW) as server:
        yield server


def ask(text: str, **extra: object) -> dict[str, object]:
    return {"assistant_id": "support", "input": {"messages": [{"role": "user", "content": text}]}, **extra}


def final_status(http: httpx.Client, run_path: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = str(http.get(run_path).json()["status"])
        if status not in ("pending", "running"):
            return status
        time.sleep(0.05)
    raise AssertionError("run did not finish")


def test_heartbeats_while_the_run_is_quiet(slow_server: ServerProcess) -> None:
    with httpx.Client(base_url=slow_server.url, timeout=30) as http:
        tid = http.post("/threads", json={}).json()["thread_id"]
        raw = http.post(f"/threads/{tid}/runs/stream", json=ask("where is order 10005", stream_mode="updates")).text
    assert ": heartbeat" in raw
    assert raw.rstrip().endswith("event: end\ndata: null")


@pytest.mark.parametrize(("on_disconnect", "expected"), [("continue", "success"), ("cancel", "interrupted")])
def test_client_disconnect_follows_on_disconnect(slow_server: ServerProcess, on_disconnect: str, expected: str) -> None:
    with httpx.Client(base_url=slow_server.url, timeout=30) as http:
        tid = http.post("/threads", json={}).json()["thread_id"]
        body = ask(f"where is order #{fixtures.SHIPPED_ORDER}", stream_mode="updates", on_disconnect=on_disconnect)
        with http.stream("POST", f"/threads/{tid}/runs/stream", json=body) as response:
            run_path = response.headers["content-location"]
            next(response.iter_lines())  # the metadata event arrived; now hang up
        assert final_status(http, run_path) == expected
        thread = http.get(f"/threads/{tid}").json()
        assert thread["status"] in ("idle", "interrupted")


def test_agent_chat_ui_request_profile(slow_server: ServerProcess) -> None:
    """Exactly what Agent Chat UI sends on page load and for one message."""
    headers = {"Origin": "http://localhost:3000"}
    with httpx.Client(base_url=slow_server.url, timeout=30, headers=headers) as http:
        preflight = http.options(
            "/threads/search",
            headers={
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert preflight.status_code == 200
        assert (
            http.post(
                "/threads/search", json={"metadata": {"graph_id": "support"}, "limit": 100, "offset": 0}
            ).status_code
            == 200
        )
        assert http.get("/info").status_code == 200
        tid = http.post("/threads", json={"metadata": {}}).json()["thread_id"]
        raw = http.post(
            f"/threads/{tid}/runs/stream",
            json={
                "input": {
                    "messages": [{"type": "human", "content": [{"type": "text", "text": "where is order #10005"}]}]
                },
                "stream_mode": ["values", "messages-tuple", "custom"],
                "stream_subgraphs": True,
                "stream_resumable": True,
                "assistant_id": "support",
                "on_disconnect": "continue",
            },
        ).text
        assert "event: messages\n" in raw and "id: 1\n" in raw
        history = http.post(f"/threads/{tid}/history", json={"limit": 10}).json()
        assert history[0]["values"]["answer"].startswith("Order #10005")
        assert history[0]["tasks"] == []
        found = http.post("/threads/search", json={"metadata": {"graph_id": "support"}, "limit": 100}).json()
        assert tid in {t["thread_id"] for t in found}
