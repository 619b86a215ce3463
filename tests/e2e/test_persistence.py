"""Threads, runs and checkpoints survive `kill -9`; a run cut off by the kill runs again to the end."""

from __future__ import annotations

import sqlite3
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

        # The cut-off run was queued again (attempt 2) and finishes; a client rejoins it.
        resumed = await client.runs.join(cut["thread_id"], run["run_id"])
        assert f"#{fixtures.SHIPPED_ORDER}" in resumed["answer"]
        assert (await client.runs.get(cut["thread_id"], run["run_id"]))["status"] == "success"
        parts = [p async for p in client.runs.join_stream(cut["thread_id"], run["run_id"], last_event_id="-1")]
        assert parts[0].data == {"run_id": run["run_id"], "attempt": 2}
        assert (await client.threads.get(cut["thread_id"]))["status"] == "idle"
        humans = [m for m in resumed["messages"] if m["type"] == "human"]
        assert len(humans) == 1  # resumed from its checkpoint, not asked twice


async def test_a_refund_cut_off_by_kill_9_happens_exactly_once(shop_template: Path, tmp_path: Path) -> None:
    db = copy_db(shop_template, tmp_path / "db")
    log = tmp_path / "server.log"
    server = start_server(db, log, env={"SWITCHYARD_TOOL_LATENCY_MS": "700"})
    try:
        client = get_client(url=server.url)
        thread = await client.threads.create()
        run = await client.runs.create(
            thread["thread_id"],
            "support",
            input={"messages": [{"role": "user", "content": f"refund order #{fixtures.REFUNDABLE_ORDER}"}]},
        )
        url = f"{server.url}/threads/{thread['thread_id']}/runs/{run['run_id']}"
        wait_for_status(url, "running")
        time.sleep(1.9)  # the lookups are done and the refund is being issued
    finally:
        server.kill()
    with running_server(db, log) as restarted:
        client = get_client(url=restarted.url)
        done = await client.runs.join(thread["thread_id"], run["run_id"])
        assert done["refund"]["receipt"]["order_id"] == fixtures.REFUNDABLE_ORDER
    with sqlite3.connect(db / "shop.db") as conn:
        count = conn.execute("SELECT count(*) FROM refunds WHERE order_id = ?", (fixtures.REFUNDABLE_ORDER,)).fetchone()
    assert count == (1,)
