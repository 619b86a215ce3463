"""The kill loop: `kill -9` the server about 20 times at random moments during a batch of refunds,
restarting each time. Every run finishes exactly once, no refund happens twice, no thread stays busy."""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path

import httpx

from bench.common import refundable_orders
from tests.support import copy_db, running_server, start_server

KILLS = 20
RUNS = 12


def refunds_by_order(path: Path, orders: list[int]) -> dict[int, int]:
    with sqlite3.connect(path) as conn:
        marks = ",".join("?" * len(orders))
        query = f"SELECT order_id, count(*) FROM refunds WHERE order_id IN ({marks}) GROUP BY order_id"
        return dict(conn.execute(query, orders).fetchall())


async def test_kill_loop_refunds_happen_exactly_once(shop_template: Path, tmp_path: Path) -> None:
    db = copy_db(shop_template, tmp_path / "db")
    log = tmp_path / "server.log"
    orders = await refundable_orders(db / "shop.db", RUNS)
    assert len(orders) == RUNS
    slow = {"SWITCHYARD_TOOL_LATENCY_MS": "500"}  # each step outlives some kills
    before = refunds_by_order(db / "shop.db", orders)
    rng = random.Random(20261121)

    server = start_server(db, log, env=slow)
    runs: list[tuple[str, str, int]] = []
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for order in orders:
            tid = http.post("/threads", json={}).json()["thread_id"]
            run = http.post(
                f"/threads/{tid}/runs",
                json={
                    "assistant_id": "support",
                    "input": {"messages": [{"role": "user", "content": f"I want a refund for order #{order}"}]},
                    "context": {"refund_approval_limit": 100000},  # no human in this loop
                },
            ).json()
            runs.append((tid, run["run_id"], order))
    for kill in range(KILLS):
        time.sleep(rng.uniform(0.05, 0.8))
        server.kill()
        if kill < KILLS - 1:
            server = start_server(db, log, env=slow)

    with running_server(db, log) as final, httpx.Client(base_url=final.url, timeout=60) as http:
        for tid, rid, _ in runs:
            http.get(f"/threads/{tid}/runs/{rid}/join")
        records = [http.get(f"/threads/{tid}/runs/{rid}").json() for tid, rid, _ in runs]
        assert [r["status"] for r in records] == ["success"] * RUNS, [r.get("error") for r in records]
        assert all(len(http.get(f"/threads/{tid}/runs").json()) == 1 for tid, _, _ in runs)  # no run twice
        statuses = {http.get(f"/threads/{tid}").json()["status"] for tid, _, _ in runs}
        assert statuses == {"idle"}
        answers = [http.get(f"/threads/{tid}/state").json()["values"]["answer"] for tid, _, _ in runs]
        assert all(a.startswith("Refund of") for a in answers), answers

    after = refunds_by_order(db / "shop.db", orders)
    assert {o: after.get(o, 0) - before.get(o, 0) for o in orders} == dict.fromkeys(orders, 1)
    attempts = log.read_text().count("resumed after its process stopped")
    assert attempts > 0  # the kills did land mid-run
