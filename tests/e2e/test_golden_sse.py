"""Pins the exact SSE event sequence of one refund run (ids, uuids and timestamps normalised).

Regenerate after an intended change with `UPDATE_GOLDEN=1 pytest tests/e2e/test_golden_sse.py`,
then read the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import httpx

from shop import fixtures
from tests.support import copy_db, running_server

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "refund_stream.sse"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
STARTED = re.compile(r'"started_at":[0-9.e+]+')
PARALLEL = {"order_status", "payment_history", "refund_policy"}


def normalise(raw: str) -> tuple[str, list[int]]:
    """Replace run-specific values; order the parallel branches' updates, which finish in any order."""
    frames, ids = [], []
    for block in raw.strip().split("\n\n"):
        lines = block.split("\n")
        event = lines[0].removeprefix("event: ")
        ids += [int(line[4:]) for line in lines if line.startswith("id: ")]
        data = STARTED.sub('"started_at":"<time>"', UUID.sub("<uuid>", lines[-1].removeprefix("data: ")))
        frames.append((event, data))
    i = 0
    while i < len(frames):
        j = i
        while j < len(frames) and frames[j][0] == "updates" and next(iter(json.loads(frames[j][1]))) in PARALLEL:
            j += 1
        frames[i:j] = sorted(frames[i:j])
        i = max(j, i + 1)
    return "".join(f"event: {e}\ndata: {d}\n\n" for e, d in frames), ids


def test_refund_run_event_sequence(shop_template: Path, tmp_path: Path) -> None:
    db = copy_db(shop_template, tmp_path / "db")
    with running_server(db, tmp_path / "server.log") as server, httpx.Client(base_url=server.url) as http:
        thread_id = http.post("/threads", json={}).json()["thread_id"]
        raw = http.post(
            f"/threads/{thread_id}/runs/stream",
            json={
                "assistant_id": "support",
                "input": {
                    "messages": [{"role": "user", "content": f"I want a refund for order #{fixtures.REFUNDABLE_ORDER}"}]
                },
                "stream_mode": ["updates", "values"],
                "stream_resumable": True,
            },
        ).text
    text, ids = normalise(raw)
    assert ids == list(range(1, len(ids) + 1))  # strictly increasing, one per event
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()
