"""Double-texting and cancellation against a real server whose tools are slow enough to overlap runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import RoundRobin, ServerProcess, copy_db, running_server, server_pair

SLOW = {"SWITCHYARD_TOOL_LATENCY_MS": "300"}


@pytest.fixture(scope="module", params=["embedded", "scale-out pair"])
def slow_servers(
    request: pytest.FixtureRequest, shop_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[ServerProcess]]:
    """One server, or two scale-out servers on one Redis that take the requests in turn:
    then every strategy below is exercised across two processes."""
    folder = tmp_path_factory.mktemp("double")
    db = copy_db(shop_template, folder / "db")
    if request.param == "embedded":
        with running_server(db, folder / "server.log", env=SLOW) as server:
            yield [server]
    else:
        with server_pair(db, folder, request.getfixturevalue("shared_redis"), SLOW) as pair:
            yield pair


@pytest.fixture
async def http(slow_servers: list[ServerProcess]) -> Any:
    async with httpx.AsyncClient(
        base_url=slow_servers[0].url, timeout=60, transport=RoundRobin(slow_servers)
    ) as client:
        yield client


def ask(text: str, **extra: Any) -> dict[str, Any]:
    return {"assistant_id": "support", "input": {"messages": [{"role": "user", "content": text}]}, **extra}


async def new_thread(http: httpx.AsyncClient) -> str:
    return str((await http.post("/threads", json={})).json()["thread_id"])


async def until_running(http: httpx.AsyncClient, tid: str, rid: str) -> None:
    deadline = time.monotonic() + 20
    while (await http.get(f"/threads/{tid}/runs/{rid}")).json()["status"] != "running":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)


async def start(http: httpx.AsyncClient, tid: str, text: str, **extra: Any) -> dict[str, Any]:
    response = await http.post(f"/threads/{tid}/runs", json=ask(text, **extra))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def human_texts(http: httpx.AsyncClient, tid: str) -> list[str]:
    state = (await http.get(f"/threads/{tid}/state")).json()
    return [m["content"] for m in state["values"].get("messages", []) if m["type"] == "human"]


async def test_cancel_interrupt_keeps_completed_steps(http: httpx.AsyncClient) -> None:
    tid = await new_thread(http)
    run = await start(http, tid, "where is order #10005")
    await until_running(http, tid, run["run_id"])
    await asyncio.sleep(0.1)  # guard and route are done; the lookup (300 ms) is under way
    response = await http.post(f"/threads/{tid}/runs/{run['run_id']}/cancel", params={"wait": True})
    assert response.status_code == 200
    assert (await http.get(f"/threads/{tid}/runs/{run['run_id']}")).json()["status"] == "interrupted"
    assert (await http.get(f"/threads/{tid}")).json()["status"] == "idle"
    history = (await http.post(f"/threads/{tid}/history", json={"limit": 50})).json()
    assert any(h["metadata"].get("run_id") == run["run_id"] for h in history)  # its steps are kept
    again = await http.post(f"/threads/{tid}/runs/{run['run_id']}/cancel")
    assert again.status_code == 409 and again.json()["code"] == "run_not_active"


async def test_cancel_rollback_leaves_no_trace(http: httpx.AsyncClient) -> None:
    tid = await new_thread(http)
    await http.post(f"/threads/{tid}/runs/wait", json=ask("where is order #10002"))
    before = (await http.post(f"/threads/{tid}/history", json={"limit": 50})).json()
    run = await start(http, tid, "where is order #10005")
    await until_running(http, tid, run["run_id"])
    await asyncio.sleep(0.1)
    response = await http.post(
        f"/threads/{tid}/runs/{run['run_id']}/cancel", params={"wait": True, "action": "rollback"}
    )
    assert response.status_code == 200
    assert (await http.get(f"/threads/{tid}/runs/{run['run_id']}")).status_code == 404
    after = (await http.post(f"/threads/{tid}/history", json={"limit": 50})).json()
    assert [h["checkpoint"] for h in after] == [h["checkpoint"] for h in before]
    assert await human_texts(http, tid) == ["where is order #10002"]


async def test_reject_refuses_a_busy_thread(http: httpx.AsyncClient) -> None:
    tid = await new_thread(http)
    first = await start(http, tid, "where is order #10005")
    response = await http.post(f"/threads/{tid}/runs", json=ask("and #10002?", multitask_strategy="reject"))
    assert response.status_code == 409 and response.json()["code"] == "thread_busy"
    await http.get(f"/threads/{tid}/runs/{first['run_id']}/join")


async def test_interrupt_cancels_the_active_run_and_keeps_its_steps(http: httpx.AsyncClient) -> None:
    tid = await new_thread(http)
    first = await start(http, tid, "where is order #10005")
    await until_running(http, tid, first["run_id"])
    second = await start(http, tid, "where is order #10002", multitask_strategy="interrupt")
    await http.get(f"/threads/{tid}/runs/{second['run_id']}/join")
    assert (await http.get(f"/threads/{tid}/runs/{first['run_id']}")).json()["status"] == "interrupted"
    assert (await http.get(f"/threads/{tid}/runs/{second['run_id']}")).json()["status"] == "success"
    assert await human_texts(http, tid) == ["where is order #10005", "where is order #10002"]
    assert (await http.get(f"/threads/{tid}")).json()["status"] == "idle"


async def test_rollback_cancels_the_active_run_and_deletes_it(http: httpx.AsyncClient) -> None:
    tid = await new_thread(http)
    first = await start(http, tid, "where is order #10005")
    await until_running(http, tid, first["run_id"])
    second = await start(http, tid, "where is order #10002", multitask_strategy="rollback")
    await http.get(f"/threads/{tid}/runs/{second['run_id']}/join")
    assert (await http.get(f"/threads/{tid}/runs/{first['run_id']}")).status_code == 404
    assert await human_texts(http, tid) == ["where is order #10002"]
    runs = (await http.get(f"/threads/{tid}/runs")).json()
    assert [r["run_id"] for r in runs] == [second["run_id"]]


async def test_many_clients_at_once_never_corrupt_the_thread(http: httpx.AsyncClient) -> None:
    tid = await new_thread(http)
    orders = [10001 + i for i in range(8)]
    runs = await asyncio.gather(*(start(http, tid, f"where is order #{o}") for o in orders))
    await asyncio.gather(*(http.get(f"/threads/{tid}/runs/{r['run_id']}/join") for r in runs))
    statuses = [(await http.get(f"/threads/{tid}/runs/{r['run_id']}")).json()["status"] for r in runs]
    assert statuses == ["success"] * len(orders)
    texts = await human_texts(http, tid)
    assert sorted(texts) == sorted(f"where is order #{o}" for o in orders) and len(texts) == len(orders)
    state = (await http.get(f"/threads/{tid}/state")).json()
    assert len(state["values"]["messages"]) == 2 * len(orders)  # every question answered, in turn
    assert (await http.get(f"/threads/{tid}")).json()["status"] == "idle"


async def test_deleting_a_thread_drops_its_queued_runs(http: httpx.AsyncClient) -> None:
    tid = await new_thread(http)
    first = await start(http, tid, "where is order #10005")
    queued = await start(http, tid, "where is order #10002")
    await until_running(http, tid, first["run_id"])
    assert (await http.delete(f"/threads/{tid}")).status_code == 204
    await asyncio.sleep(1.0)  # the queued run's turn comes and goes
    assert (await http.get(f"/threads/{tid}")).status_code == 404
    assert (await http.get(f"/threads/{tid}/runs/{queued['run_id']}")).status_code == 404
    found = (await http.post("/threads/search", json={"limit": 1000})).json()
    assert tid not in {t["thread_id"] for t in found}
