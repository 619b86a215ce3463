"""Scale-out mode end to end: two real server processes on one real redis-server.

A run started through one process is streamed through the other; the process executing a
run is killed and the other finishes it, moving money once; Redis itself restarts under
load and every run still ends with its checkpoints intact.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from redis import Redis

from bench.common import refundable_orders
from tests.redis_server import RedisProcess, redis_process
from tests.support import ServerProcess, copy_db, running_server, server_pair, start_server

SLOW = {"SWITCHYARD_TOOL_LATENCY_MS": "400", "SWITCHYARD_LEASE_SECONDS": "1.5"}
NO_APPROVAL = {"refund_approval_limit": 100000}


@pytest.fixture(scope="module")
def pair(
    shop_template: Path, tmp_path_factory: pytest.TempPathFactory, shared_redis: str
) -> Iterator[list[ServerProcess]]:
    folder = tmp_path_factory.mktemp("pair")
    with server_pair(copy_db(shop_template, folder / "db"), folder, shared_redis, SLOW) as servers:
        yield servers


def refund_request(order: int) -> dict[str, Any]:
    return {
        "assistant_id": "support",
        "input": {"messages": [{"role": "user", "content": f"I want a refund for order #{order}"}]},
        "context": NO_APPROVAL,
    }


def refunds(shop: Path, order: int) -> int:
    with sqlite3.connect(shop) as conn:
        return int(conn.execute("SELECT count(*) FROM refunds WHERE order_id = ?", (order,)).fetchone()[0])


def owner_pid(redis_url: str, prefix: str, run_id: str) -> int | None:
    """The pid of the process holding the run's lease (worker ids are host:pid:random)."""
    with Redis.from_url(redis_url) as redis:
        owner = redis.hget(f"{{{prefix}:q}}:owner", run_id)
    return None if owner is None else int(owner.decode().split(":")[1])


async def test_a_run_started_through_one_process_streams_through_the_other(pair: list[ServerProcess]) -> None:
    a, b = pair
    via_a, via_b = get_client(url=a.url), get_client(url=b.url)
    thread = await via_a.threads.create()
    run = await via_a.runs.create(
        thread["thread_id"], "support", input={"messages": [{"role": "user", "content": "where is order #10005"}]}
    )
    parts = via_b.runs.join_stream(thread["thread_id"], run["run_id"], stream_mode="values")
    events = [part async for part in parts if part.event == "values"]
    assert "10005" in events[-1].data["answer"]
    assert (await via_b.runs.get(thread["thread_id"], run["run_id"]))["status"] == "success"
    state = await via_a.threads.get_state(thread["thread_id"])
    assert state["values"]["answer"] == events[-1].data["answer"]


async def test_the_survivor_finishes_a_killed_processs_run_and_money_moves_once(
    shop_template: Path, tmp_path: Path, shared_redis: str
) -> None:
    db = copy_db(shop_template, tmp_path / "db")
    (order,) = await refundable_orders(db / "shop.db", 1)
    before = refunds(db / "shop.db", order)
    with server_pair(db, tmp_path, shared_redis, SLOW) as servers:
        a, b = servers
        async with httpx.AsyncClient(base_url=a.url, timeout=30) as http:
            tid = (await http.post("/threads", json={})).json()["thread_id"]
            run = (await http.post(f"/threads/{tid}/runs", json=refund_request(order))).json()
            deadline = time.monotonic() + 20
            while (pid := owner_pid(shared_redis, f"sy{tmp_path.name}", run["run_id"])) is None:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.5)  # the lookups are under way
            victim, survivor = (a, b) if pid == a.process.pid else (b, a)
            victim.kill()
        async with httpx.AsyncClient(base_url=survivor.url, timeout=60) as http:
            frames = (await http.get(f"/threads/{tid}/runs/{run['run_id']}/stream")).text
            record = (await http.get(f"/threads/{tid}/runs/{run['run_id']}")).json()
            state = (await http.get(f"/threads/{tid}/state")).json()
        assert record["status"] == "success"
        assert state["values"]["answer"].startswith("Refund of")
        assert '"attempt":2' in frames  # the survivor's attempt, in the same stream
        assert frames.rstrip().endswith("data: null") and "event: end\nid: 1000000" in frames
        assert "resumed after its process stopped" in survivor.log.read_text()
    assert refunds(db / "shop.db", order) == before + 1


async def test_redis_restart_under_load_loses_no_checkpoint(shop_template: Path, tmp_path: Path) -> None:
    db = copy_db(shop_template, tmp_path / "db")
    orders = await refundable_orders(db / "shop.db", 8)
    before = {order: refunds(db / "shop.db", order) for order in orders}
    with (
        redis_process(aof=True) as redis,
        running_server(db, tmp_path / "server.log", env={**SLOW, "SWITCHYARD_REDIS_URL": redis.url}) as server,
    ):
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            runs = []
            for order in orders:
                tid = (await http.post("/threads", json={})).json()["thread_id"]
                runs.append(
                    (tid, (await http.post(f"/threads/{tid}/runs", json=refund_request(order))).json()["run_id"])
                )
            await asyncio.sleep(0.5)  # the runs are mid-way
            seen = {tid: await history_ids(http, tid) for tid, _ in runs}
            await outage(http, redis)
            for tid, rid in runs:
                await http.get(f"/threads/{tid}/runs/{rid}/join")
            for tid, rid in runs:
                assert (await http.get(f"/threads/{tid}/runs/{rid}")).json()["status"] == "success"
                state = (await http.get(f"/threads/{tid}/state")).json()
                assert state.get("values", {}).get("answer", "").startswith("Refund of"), state
                assert seen[tid] <= await history_ids(http, tid)  # every checkpoint seen before is still there
        log = server.log.read_text()
        assert "Redis is unreachable" in log and "resumed after its process stopped" in log  # stopped, retried
    assert {order: refunds(db / "shop.db", order) - before[order] for order in orders} == dict.fromkeys(orders, 1)


async def history_ids(http: httpx.AsyncClient, tid: str) -> set[str]:
    history = (await http.post(f"/threads/{tid}/history", json={"limit": 100})).json()
    return {h["checkpoint"]["checkpoint_id"] for h in history}


async def outage(http: httpx.AsyncClient, redis: RedisProcess) -> None:
    """Stop Redis: the API says 503 `store_unavailable` and /health turns red; start it again:
    both recover by themselves."""
    redis.stop()
    down = await http.get("/threads/00000000-0000-0000-0000-000000000000")
    assert down.status_code == 503 and down.json()["code"] == "store_unavailable"
    assert down.headers["retry-after"] == "1"
    health = await http.get("/health")
    assert health.status_code == 503 and health.json()["checks"]["redis"]["ok"] is False
    await asyncio.sleep(3.0)  # longer than a client rides out by retrying
    redis.start()
    deadline = time.monotonic() + 20
    while (await http.get("/health")).status_code != 200:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)


def test_serve_workers_runs_processes_sharing_one_port(shop_template: Path, tmp_path: Path, shared_redis: str) -> None:
    env = {"SWITCHYARD_REDIS_URL": shared_redis, "SWITCHYARD_REDIS_PREFIX": f"sy{tmp_path.name}"}
    with running_server(copy_db(shop_template, tmp_path / "db"), tmp_path / "server.log", env=env, workers=2) as server:
        seen: set[str] = set()
        deadline = time.monotonic() + 20
        while len(seen) < 2:  # each new connection may land on either process
            assert time.monotonic() < deadline, seen
            with httpx.Client(base_url=server.url) as http:
                seen.add(http.get("/health").json()["checks"]["redis"]["worker"])
        with httpx.Client(base_url=server.url, timeout=30) as http:
            tid = http.post("/threads", json={}).json()["thread_id"]
            body = {
                "assistant_id": "support",
                "input": {"messages": [{"role": "user", "content": "where is order #10005"}]},
            }
            assert "10005" in http.post(f"/threads/{tid}/runs/wait", json=body).json()["answer"]


def test_serve_refuses_workers_without_redis(shop_template: Path, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="--workers needs --redis-url"):
        start_server(copy_db(shop_template, tmp_path / "db"), tmp_path / "server.log", workers=2)
