"""The real server's log: JSON lines that name their request and run, and never a key, an email or a card.

Secrets reach the server in headers, in the message of a run and in a query string (which the
access log records): only the last is written anywhere, and redacted."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import quote_plus

import httpx
from langgraph_sdk import get_sync_client

from tests.support import ServerProcess

BEARER_KEY = "syk_" + "B" * 20 + uuid.uuid4().hex
HEADER_KEY = "syk_" + "H" * 20 + uuid.uuid4().hex
QUERY_KEY = "syk_" + "Q" * 20 + uuid.uuid4().hex
EMAIL = "jane.logtest@example.com"
CARD = "4111 1111 1111 1111"
SECRETS = [BEARER_KEY, HEADER_KEY, QUERY_KEY, EMAIL, CARD, CARD.replace(" ", ""), quote_plus(EMAIL), quote_plus(CARD)]
MESSAGE = f"where is order #10005? I am {EMAIL}, my card is {CARD}, my key {QUERY_KEY}"


def log_entries(server: ServerProcess) -> list[dict[str, Any]]:
    text = server.log.read_text()
    for secret in SECRETS:
        assert secret not in text, secret
    return [json.loads(line) for line in text.splitlines()]  # every line is one JSON object


def test_the_log_follows_requests_and_runs_and_keeps_no_secret(server: ServerProcess) -> None:
    sdk = get_sync_client(url=server.url, api_key=HEADER_KEY, headers={"Authorization": f"Bearer {BEARER_KEY}"})
    thread = sdk.threads.create(metadata={"email": EMAIL})
    question: dict[str, Any] = {"messages": [{"role": "user", "content": MESSAGE}]}
    run = sdk.runs.create(thread["thread_id"], "support", input=question)
    sdk.runs.join(thread["thread_id"], run["run_id"])

    with httpx.Client(base_url=server.url, timeout=30) as http:
        # The query string is the one place a secret sent to the server reaches its log.
        read = http.get(
            f"/threads/{thread['thread_id']}",
            params={"email": EMAIL, "card": CARD, "api_key": QUERY_KEY},
            headers={"Authorization": f"Bearer {BEARER_KEY}", "x-api-key": HEADER_KEY},
        )
        assert read.status_code == 200
        generated = read.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", generated)
        echoed = http.get(f"/threads/{thread['thread_id']}", headers={"x-request-id": "e2e-logs.1"})
        assert echoed.headers["x-request-id"] == "e2e-logs.1"
        body = {"assistant_id": "support", "input": question}
        with http.stream("POST", f"/threads/{thread['thread_id']}/runs/stream", json=body) as stream:
            assert re.fullmatch(r"[0-9a-f]{32}", stream.headers["x-request-id"])
            streamed = stream.headers["x-request-id"]
            stream.read()
        too_big = http.post("/threads", content=b"x" * (2 * 1024 * 1024), headers={"x-request-id": "e2e-logs.2"})
        assert too_big.status_code == 413 and too_big.headers["x-request-id"] == "e2e-logs.2"

    entries = log_entries(server)
    assert all({"ts", "level", "logger", "message"} <= set(entry) for entry in entries)
    by_request = {entry.get("request_id"): entry for entry in entries if entry["logger"] == "uvicorn.access"}
    assert by_request[generated]["path"].startswith(f"/threads/{thread['thread_id']}?")
    assert "[email]" in by_request[generated]["path"] and "[card]" in by_request[generated]["path"]
    assert by_request["e2e-logs.1"]["status_code"] == 200
    assert by_request[streamed]["path"] == f"/threads/{thread['thread_id']}/runs/stream"
    assert by_request["e2e-logs.2"]["status_code"] == 413

    [finished] = [e for e in entries if e.get("run_id") == run["run_id"] and "finished" in e["message"]]
    assert finished["thread_id"] == thread["thread_id"]
    assert (finished["intent"], finished["tier"]) == ("order_status", "rule")
    assert finished["status"] == "success"
    for entry in entries:  # whatever else of ours names the run carries it
        if entry["logger"].startswith("switchyard") and run["run_id"] in entry["message"]:
            assert entry["run_id"] == run["run_id"] and entry["thread_id"] == thread["thread_id"]
