"""Threads, runs and checkpoints survive `kill -9`; a run cut off by the kill is marked `error`."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from langgraph_sdk import get_client

from shop import fixtures
from tests.support import copy_db, running_server, start_server


def wait_for_status(url: str, status: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(url).json()["status"] == status:
            return
        time.sleep(0.02)
    raise AssertionError(f"{url} never reached {status}")


async def test_kill_9_then_restart_keeps_everything(shop_template: Path, tmp_path: Path) -> None:
    db = copy_db(shop_template, tmp_path / "db")
    log = tmp_path / "server.log"
    slow = {"SWITCHYARD_TOOL_LATENCY_MS": "1500"}
    server = start_server(db, log, env=slow)
    try:
        client = get_client(url=server.url)
        done = await client.threads.create(metadata={"case": "finished"})
        result = await client.runs.wait(
            done["thread_id"],
            "support",
            input={"messages": [{"role": "user", "content": f"refund order #{fixtures.REFUNDABLE_ORDER}"}]},
        )
        assert "Refund of" in result["answer"]
        history_before = await client.threads.get_history(done["thread_id"], limit=50)

        cut = await client.threads.create(metadata={"case": "cut off"})
        run = await client.runs.create(
            cut["thread_id"],
            "support",
            input={"messages": [{"role": "user", "content": f"where is order #{fixtures.SHIPPED_ORDER}"}]},
        )
        wait_for_status(f"{server.url}/threads/{cut['thread_id']}/runs/{run['run_id']}", "running")
    finally:
        server.kill()

    with running_server(db, log) as restarted:
        client = get_client(url=restarted.url)
        thread = await client.threads.get(done["thread_id"])
        assert thread["status"] == "idle" and thread["values"]["answer"] == result["answer"]
        state = await client.threads.get_state(done["thread_id"])
        assert state["values"]["answer"] == result["answer"]
        history_after = await client.threads.get_history(done["thread_id"], limit=50)
        assert [h["checkpoint"] for h in history_after] == [h["checkpoint"] for h in history_before]
        assert [r["status"] for r in await client.runs.list(done["thread_id"])] == ["success"]

        lost = await client.runs.get(cut["thread_id"], run["run_id"])
        assert lost["status"] == "error"
        assert "server stopped" in lost["error"]
        assert (await client.threads.get(cut["thread_id"]))["status"] == "error"

        # The thread is usable again: the same question now gets its answer.
        again = await client.runs.wait(
            cut["thread_id"],
            "support",
            input={"messages": [{"role": "user", "content": f"where is order #{fixtures.SHIPPED_ORDER}"}]},
        )
        assert f"#{fixtures.SHIPPED_ORDER}" in again["answer"]
        assert (await client.threads.get(cut["thread_id"]))["status"] == "idle"
