"""API keys and tenant isolation, against the real server and its real checkpointer, in both modes.

Keys come from `switchyard keys create` (the store) and from `SWITCHYARD_API_KEYS` (the settings).
Every thread, run, state, history and stream endpoint is tried with another tenant's key on a
thread that has real checkpoints: each must answer 404, and the thread must be untouched after.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

from tests.support import ROOT, ServerProcess, copy_db, free_port, running_server

TURN = {"assistant_id": "support", "input": {"messages": [{"role": "user", "content": "where is order #10005"}]}}


def keys_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "keys", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@dataclass
class AuthServer:
    server: ServerProcess
    cli_env: dict[str, str]
    alice: str  # tenant acme, from the store
    bob: str  # tenant acme, another user
    eve: str  # tenant initech, from the settings

    def client(self, key: str | None) -> httpx.Client:
        headers = {"x-api-key": key} if key else {}
        return httpx.Client(base_url=self.server.url, headers=headers, timeout=60)


@pytest.fixture(scope="module", params=["embedded", "scale-out"])
def auth(
    request: pytest.FixtureRequest, shop_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AuthServer]:
    folder = tmp_path_factory.mktemp("auth")
    db = copy_db(shop_template, folder / "db")
    store: dict[str, str] = {"SWITCHYARD_DB": str(db)}  # where the server keeps its keys, for the CLI too
    if request.param == "scale-out":
        store["SWITCHYARD_REDIS_URL"] = request.getfixturevalue("shared_redis")
        store["SWITCHYARD_REDIS_PREFIX"] = f"sy{folder.name}"
    cli_env = {**{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SWITCHYARD_REDIS_URL")}, **store}
    created = [keys_cli("create", "--tenant", "acme", "--user", u, env=cli_env) for u in ("alice", "bob")]
    assert all(c.returncode == 0 for c in created), [c.stderr for c in created]
    alice, bob = (c.stdout.strip() for c in created)
    # eve's key is given in the settings, not stored.
    unstored = keys_cli("create", "--tenant", "initech", "--user", "eve", "--no-store", env=cli_env)
    entry = json.loads(unstored.stderr.split("entry (add it to the list): ", 1)[1].splitlines()[0])
    env = {**store, "SWITCHYARD_AUTH": "on", "SWITCHYARD_API_KEYS": json.dumps([entry])}
    with running_server(db, folder / "server.log", env=env) as server:
        yield AuthServer(server, cli_env, alice, bob, unstored.stdout.strip())


@pytest.fixture(scope="module")
def acme_thread(auth: AuthServer) -> dict[str, Any]:
    """A thread of tenant acme with a finished run, so real checkpoints exist behind it."""
    with auth.client(auth.alice) as http:
        thread = http.post("/threads", json={"metadata": {"owner_note": "acme"}}).json()
        tid = thread["thread_id"]
        assert http.post(f"/threads/{tid}/runs/wait", json=TURN).status_code == 200
        runs = http.get(f"/threads/{tid}/runs").json()
        history = http.get(f"/threads/{tid}/history", params={"limit": 100}).json()
    assert len(history) >= 3, "the run must have left checkpoints"
    return {"thread_id": tid, "run_id": runs[0]["run_id"], "checkpoint_id": history[0]["checkpoint_id"]}


def test_requests_without_a_valid_key_get_401(auth: AuthServer) -> None:
    with auth.client(None) as http:
        missing = http.post("/threads", json={})
        assert missing.status_code == 401 and missing.json()["code"] == "missing_api_key"
        assert missing.headers["www-authenticate"] == "Bearer"
        for bad in ("nonsense", "syk_0123456789ab_" + "x" * 43, auth.alice[:-2] + "zz"):
            response = http.post("/threads/search", json={}, headers={"x-api-key": bad})
            assert response.status_code == 401 and response.json()["code"] == "invalid_api_key", bad
        # Liveness, health, server info and the schema stay open: load balancers and Studio read them first.
        for path in ("/ok", "/health", "/info", "/openapi.json"):
            assert http.get(path).status_code == 200, path


def test_a_key_in_the_authorization_header_works_too(auth: AuthServer) -> None:
    with auth.client(None) as http:
        response = http.post("/threads/search", json={}, headers={"Authorization": f"Bearer {auth.eve}"})
        assert response.status_code == 200


def test_studio_headers_are_tolerated(auth: AuthServer) -> None:
    """Studio sends its own LangSmith credentials along; one valid key among the presented ones is enough."""
    studio = {
        "x-api-key": "lsv2_pt_0123456789abcdef0123456789abcdef_0123456789",
        "x-auth-scheme": "langsmith",
        "x-tenant-id": "00000000-0000-0000-0000-000000000000",
        "Authorization": f"Bearer {auth.alice}",
    }
    with auth.client(None) as http:
        assert http.post("/threads/search", json={}, headers=studio).status_code == 200
        assert http.post("/assistants/search", json={}, headers=studio).status_code == 200


def test_another_tenant_gets_404_on_every_thread_endpoint(auth: AuthServer, acme_thread: dict[str, Any]) -> None:
    tid, rid, cid = acme_thread["thread_id"], acme_thread["run_id"], acme_thread["checkpoint_id"]
    attempts: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"/threads/{tid}", None),
        ("PATCH", f"/threads/{tid}", {"metadata": {"stolen": True}}),
        ("POST", f"/threads/{tid}/copy", {}),
        ("GET", f"/threads/{tid}/state", None),
        ("GET", f"/threads/{tid}/state/{cid}", None),
        ("POST", f"/threads/{tid}/state/checkpoint", {"checkpoint": {"checkpoint_id": cid}}),
        ("POST", f"/threads/{tid}/state", {"values": {"answer": "pwned"}}),
        ("GET", f"/threads/{tid}/history", None),
        ("POST", f"/threads/{tid}/history", {"limit": 5}),
        ("GET", f"/threads/{tid}/runs", None),
        ("GET", f"/threads/{tid}/runs/{rid}", None),
        ("GET", f"/threads/{tid}/runs/{rid}/join", None),
        ("GET", f"/threads/{tid}/runs/{rid}/stream", None),
        ("POST", f"/threads/{tid}/runs/{rid}/cancel", {}),
        ("GET", f"/threads/{tid}/stream", None),
        ("POST", f"/threads/{tid}/runs", TURN),
        ("POST", f"/threads/{tid}/runs/wait", TURN),
        ("POST", f"/threads/{tid}/runs/stream", TURN),
        ("DELETE", f"/threads/{tid}", None),
    ]
    with auth.client(auth.eve) as eve, auth.client(auth.alice) as alice:
        before = alice.get(f"/threads/{tid}/history", params={"limit": 100}).json()
        for method, path, body in attempts:
            response = eve.request(method, path, json=body)
            assert response.status_code == 404, (method, path, response.status_code, response.text)
            assert response.json()["code"] == "thread_not_found", (method, path)
            assert tid not in response.text or "not found" in response.text
        # Nothing the other tenant did reached the thread, its runs or its checkpoints.
        thread = alice.get(f"/threads/{tid}").json()
        assert "stolen" not in thread["metadata"] and thread["values"]["answer"] != "pwned"
        assert alice.get(f"/threads/{tid}/history", params={"limit": 100}).json() == before
        assert [r["run_id"] for r in alice.get(f"/threads/{tid}/runs").json()] == [rid]


def test_search_and_count_return_only_the_callers_threads(auth: AuthServer, acme_thread: dict[str, Any]) -> None:
    with auth.client(auth.eve) as eve, auth.client(auth.bob) as bob:
        mine = eve.post("/threads", json={"metadata": {"owner_note": "initech"}}).json()["thread_id"]
        for query in ({}, {"metadata": {"owner_note": "acme"}}, {"ids": [acme_thread["thread_id"], mine]}):
            found = eve.post("/threads/search", json={**query, "limit": 1000}).json()
            assert acme_thread["thread_id"] not in {t["thread_id"] for t in found}, query
        assert {t["thread_id"] for t in eve.post("/threads/search", json={"limit": 1000}).json()} == {mine}
        assert eve.post("/threads/count", json={}).json() == 1
        # A tenant's users share its threads: bob (acme) sees alice's thread, not initech's.
        seen = {t["thread_id"] for t in bob.post("/threads/search", json={"limit": 1000}).json()}
        assert acme_thread["thread_id"] in seen and mine not in seen


def test_another_tenants_thread_id_cannot_be_claimed(auth: AuthServer, acme_thread: dict[str, Any]) -> None:
    tid = acme_thread["thread_id"]
    with auth.client(auth.eve) as eve:
        for body in ({"thread_id": tid}, {"thread_id": tid, "if_exists": "do_nothing"}):
            response = eve.post("/threads", json=body)
            assert response.status_code == 409 and response.json()["code"] == "thread_exists", body
            assert "values" not in response.json()
        response = eve.post(f"/threads/{tid}/runs/wait", json={**TURN, "if_not_exists": "create"})
        assert response.status_code == 409 and response.json()["code"] == "thread_exists"


def test_store_items_are_per_tenant(auth: AuthServer) -> None:
    item = {"namespace": ["memories", "prefs"], "key": "tone", "value": {"tone": "formal"}}
    with auth.client(auth.alice) as alice, auth.client(auth.eve) as eve:
        assert alice.put("/store/items", json=item).status_code == 204
        got = alice.get("/store/items", params={"namespace": "memories.prefs", "key": "tone"}).json()
        assert got["namespace"] == ["memories", "prefs"] and got["value"] == {"tone": "formal"}
        assert eve.get("/store/items", params={"namespace": "memories.prefs", "key": "tone"}).status_code == 404
        assert eve.post("/store/items/search", json={"namespace_prefix": ["memories"]}).json() == {"items": []}
        assert eve.post("/store/namespaces", json={}).json() == {"namespaces": []}
        assert ["memories", "prefs"] in alice.post("/store/namespaces", json={}).json()["namespaces"]


async def test_the_sdk_works_with_a_key_and_sees_only_its_tenant(auth: AuthServer, acme_thread: dict[str, Any]) -> None:
    eve = get_client(url=auth.server.url, api_key=auth.eve)
    thread = await eve.threads.create()
    result = await eve.runs.wait(thread["thread_id"], "support", input=TURN["input"])
    assert "10005" in result["answer"]  # type: ignore[index]
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await eve.threads.get_state(acme_thread["thread_id"])
    assert caught.value.response.status_code == 404
    chunks = [c async for c in eve.runs.stream(thread["thread_id"], "support", input=TURN["input"])]
    assert chunks[0].event == "metadata" and chunks[-1].event != "error"


def test_a_revoked_key_stops_working(auth: AuthServer) -> None:
    created = keys_cli("create", "--tenant", "acme", "--user", "temp", env=auth.cli_env)
    key = created.stdout.strip()
    key_id = key.split("_")[1]
    with auth.client(key) as http:
        assert http.post("/threads/search", json={}).status_code == 200
        listed = keys_cli("list", "--json", env=auth.cli_env)
        assert key_id in listed.stdout and key not in listed.stdout and "sha256" not in listed.stdout
        assert keys_cli("revoke", key_id, env=auth.cli_env).returncode == 0
        assert keys_cli("revoke", key_id, env=auth.cli_env).returncode == 1  # already revoked
        deadline = time.monotonic() + 15  # the server trusts a looked-up key for 5 s
        while http.post("/threads/search", json={}).status_code == 200:
            assert time.monotonic() < deadline, "a revoked key still works"
            time.sleep(0.5)
        assert http.post("/threads/search", json={}).json()["code"] == "invalid_api_key"


def test_auth_off_is_refused_unless_bound_to_loopback(tmp_path: Path) -> None:
    env = {**os.environ, "SWITCHYARD_AUTH": "off"}
    for host in ("0.0.0.0", "192.0.2.10"):
        done = subprocess.run(
            [sys.executable, "-m", "server.cli", "serve", "--host", host, "--port", str(free_port())],
            cwd=ROOT,
            env={**env, "SWITCHYARD_DB": str(tmp_path / "db")},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2 and "only allowed on a loopback address" in done.stderr, done.stderr


def test_auth_off_on_loopback_tolerates_studio_headers(server: ServerProcess) -> None:
    studio = {"x-api-key": "lsv2_pt_whatever", "x-auth-scheme": "langsmith", "x-user-id": str(uuid.uuid4())}
    with httpx.Client(base_url=server.url, headers=studio, timeout=30) as http:
        tid = http.post("/threads", json={}).json()["thread_id"]
        assert http.post(f"/threads/{tid}/runs/wait", json=TURN).status_code == 200
