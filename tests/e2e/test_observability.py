"""Observability of real server processes: `/metrics`, OTLP spans and LangSmith runs sent to a real
local receiver, and `/health`.

Three setups: an embedded server with OTLP and LangSmith tracing on; a scale-out server with
`--workers 2` tracing too, whose scrape sums both processes; and a server whose LLM is a
`switchyard sim` process that goes away.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from prometheus_client.parser import text_string_to_metric_families

from shop import fixtures
from tests.support import ROOT, ServerProcess, copy_db, free_port, running_server
from tests.trace_receiver import Received, Span, trace_receiver

COMPLEX = "Which items are in #10014, and what did they cost?"
CALLER_TRACE, CALLER_SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
REFUND_PATH = {"guard", "route", "order_status", "payment_history", "refund_policy", "assess_refund"}


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[str, Received]]:
    with trace_receiver() as found:
        yield found


def tracing_env(url: str) -> dict[str, str]:
    # Whatever the caller's environment says, the server traces to the receiver and only there.
    inherited = {k for k in os.environ if k.startswith(("OTEL_", "LANGSMITH_", "LANGCHAIN_"))}
    return {**dict.fromkeys(inherited, ""), "OTEL_EXPORTER_OTLP_ENDPOINT": url, "OTEL_BSP_SCHEDULE_DELAY": "100"}


@pytest.fixture(scope="module")
def traced(
    receiver: tuple[str, Received], shop_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """Embedded, with OTLP tracing and LangSmith tracing both on."""
    url, _ = receiver
    folder = tmp_path_factory.mktemp("traced")
    langsmith = {"LANGSMITH_TRACING": "true", "LANGSMITH_ENDPOINT": url, "LANGSMITH_API_KEY": "lsv2-test"}
    env = {**tracing_env(url), **langsmith, "LANGSMITH_PROJECT": "switchyard-e2e"}
    with running_server(copy_db(shop_template, folder / "db"), folder / "server.log", env=env) as server:
        yield server


@pytest.fixture(scope="module")
def workers(
    receiver: tuple[str, Received], shop_template: Path, tmp_path_factory: pytest.TempPathFactory, shared_redis: str
) -> Iterator[ServerProcess]:
    """Scale-out, two processes on one port (`--workers 2`), OTLP tracing on."""
    folder = tmp_path_factory.mktemp("workers")
    env = {**tracing_env(receiver[0]), "SWITCHYARD_REDIS_URL": shared_redis, "SWITCHYARD_REDIS_PREFIX": folder.name}
    db = copy_db(shop_template, folder / "db")
    with running_server(db, folder / "server.log", env=env, workers=2) as server:
        yield server


class Scrape:
    def __init__(self, text: str) -> None:
        self.text = text
        self.samples = [s for family in text_string_to_metric_families(text) for s in family.samples]

    def value(self, name: str, **labels: str) -> float:
        """The sum over samples of `name` whose labels include `labels`."""
        return sum(s.value for s in self.samples if s.name == name and labels.items() <= s.labels.items())


def scrape(url: str) -> Scrape:
    with httpx.Client(timeout=10) as http:  # a new connection: under --workers, any process may answer
        response = http.get(f"{url}/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return Scrape(response.text)


async def ask(server: ServerProcess, text: str) -> tuple[str, str]:
    """One streamed turn on a new thread, sent within the caller's trace; (thread id, run id)."""
    client = get_client(url=server.url, headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"})
    thread = await client.threads.create()
    run_id = ""
    messages = {"messages": [{"role": "user", "content": text}]}
    async for part in client.runs.stream(thread["thread_id"], "support", input=messages):
        if part.event == "metadata":
            run_id = part.data["run_id"]
    return thread["thread_id"], run_id


# -- metrics -------------------------------------------------------------------------------


async def test_a_turn_shows_in_requests_runs_nodes_llm_and_cache_metrics(traced: ServerProcess) -> None:
    before = scrape(traced.url)
    thread_id, _ = await ask(traced, f"where is order #{fixtures.SHIPPED_ORDER}")
    await ask(traced, COMPLEX)
    await ask(traced, COMPLEX)  # the router's classification of the same text comes from the cache
    after = scrape(traced.url)

    def grew(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    stream = {"method": "POST", "route": "/threads/{thread_id}/runs/stream", "status": "200"}
    assert grew("switchyard_http_request_duration_seconds_count", **stream) == 3
    assert grew("switchyard_http_request_duration_seconds_count", method="POST", route="/threads") == 3
    assert thread_id not in after.text  # route templates, never raw paths
    assert grew("switchyard_runs_finished_total", graph="support", status="success") == 3
    runs = "switchyard_run_duration_seconds_count"
    assert grew(runs, graph="support", intent="order_status", tier="rule") == 1
    assert grew(runs, graph="support", intent="complex", tier="llm") == 2
    nodes = "switchyard_node_duration_seconds_count"
    assert grew(nodes, graph="support", node="guard") == 3
    assert grew(nodes, graph="support", node="lookup_order") == 1
    assert grew(nodes, graph="support", node="agent") >= 2
    assert after.value("switchyard_runs_active") == 0  # none pending or running any more
    assert after.value("switchyard_sse_streams_active") == 0

    assert grew("switchyard_llm_calls_total", model="gpt-4o-mini", outcome="ok") == 1  # the classification
    assert grew("switchyard_llm_calls_total", model="gpt-4o-mini", outcome="cached") == 1
    assert grew("switchyard_llm_calls_total", model="gpt-4o", outcome="ok") >= 2  # the agent, each turn
    assert grew("switchyard_llm_tokens_total", kind="completion") > 0
    assert grew("switchyard_llm_cost_usd_total") > 0
    assert grew("switchyard_llm_cache_lookups_total", cache="responses", tier="memory", result="hit") == 1
    assert grew("switchyard_llm_gate_wait_seconds_count", priority="interactive") >= 3
    assert after.value("switchyard_llm_breaker_state", endpoint="simulator (in-process)") == 0


async def test_open_thread_streams_are_counted_until_they_close(traced: ServerProcess) -> None:
    thread_id, _ = await ask(traced, f"where is order #{fixtures.PAID_ORDER}")

    async def streams_become(count: float) -> None:
        deadline = time.monotonic() + 10
        while scrape(traced.url).value("switchyard_sse_streams_active", kind="thread") != count:
            assert time.monotonic() < deadline, f"thread streams never became {count}"
            await asyncio.sleep(0.05)

    async with httpx.AsyncClient(base_url=traced.url, timeout=10) as http:
        async with http.stream("GET", f"/threads/{thread_id}/stream") as response:
            assert response.status_code == 200
            await streams_become(1)
    await streams_become(0)


async def test_a_scrape_of_either_worker_sums_both_processes(workers: ServerProcess) -> None:
    health = {"method": "GET", "route": "/health", "status": "200"}
    finished = {"graph": "support", "status": "success"}
    before = scrape(workers.url)
    seen: set[str] = set()
    asked = 0
    deadline = time.monotonic() + 20
    while len(seen) < 2 or asked < 10:  # each new connection may land on either process
        assert time.monotonic() < deadline, seen
        with httpx.Client(base_url=workers.url, timeout=10) as http:
            seen.add(http.get("/health").json()["checks"]["redis"]["worker"])
        asked += 1
    _, run_id = await ask(workers, f"where is order #{fixtures.SHIPPED_ORDER}")
    for _ in range(4):  # whichever process answers, it reports both processes' requests and runs
        after = scrape(workers.url)
        requests = after.value("switchyard_http_request_duration_seconds_count", **health)
        assert requests == before.value("switchyard_http_request_duration_seconds_count", **health) + asked
        assert (
            after.value("switchyard_runs_finished_total", **finished)
            == before.value("switchyard_runs_finished_total", **finished) + 1
        )
        assert run_id not in after.text


# -- tracing -------------------------------------------------------------------------------


def assert_run_and_nodes(received: Received, run_id: str, thread_id: str, intent: str) -> Span:
    """The run's span with its attributes, and node spans as its children; the run span."""
    run = received.wait_for(
        lambda r: next((s for s in r.spans if s.attributes.get("switchyard.run_id") == run_id), None)
    )
    assert run.name == "run support" and run.service == "switchyard"
    assert {k.removeprefix("switchyard."): v for k, v in run.attributes.items()} == {
        "run_id": run_id,
        "thread_id": thread_id,
        "graph": "support",
        "attempt": 1,
        "intent": intent,
        "tier": "rule",
        "status": "success",
    }
    nodes = received.wait_for(lambda r: [s for s in r.spans if s.parent_id == run.span_id] or None)
    assert all(n.trace_id == run.trace_id and n.attributes["switchyard.node"] == n.name for n in nodes)
    return run


async def test_request_run_and_node_spans_nest(traced: ServerProcess, receiver: tuple[str, Received]) -> None:
    _, received = receiver
    thread_id, run_id = await ask(traced, f"I want a refund for order #{fixtures.REFUNDABLE_ORDER}")
    run = assert_run_and_nodes(received, run_id, thread_id, "refund")

    # The request that submitted the run is a server span, a child of the caller's, and the run's parent.
    request = next(s for s in received.spans if s.span_id == run.parent_id)
    assert request.trace_id == CALLER_TRACE and request.parent_id == CALLER_SPAN
    assert request.kind == 2  # SERVER
    assert request.name == "POST /threads/{thread_id}/runs/stream"
    assert request.attributes["http.route"] == "/threads/{thread_id}/runs/stream"
    assert request.attributes["http.response.status_code"] == 200

    # Every node of the refund path, the three parallel lookups too, once each, as the run's children.
    def refund_nodes(r: Received) -> list[str] | None:
        names = sorted(s.name for s in r.spans if s.parent_id == run.span_id)
        return names if REFUND_PATH <= set(names) else None

    names = received.wait_for(refund_nodes)
    assert len(names) == len(set(names)), names


async def test_scaleout_runs_and_nodes_are_traced(workers: ServerProcess, receiver: tuple[str, Received]) -> None:
    """The run may execute in either process; its span starts a trace of its own there."""
    _, received = receiver
    thread_id, run_id = await ask(workers, f"where is order #{fixtures.PAID_ORDER}")
    run = assert_run_and_nodes(received, run_id, thread_id, "order_status")
    expected = {"guard", "route", "lookup_order", "respond"}
    assert received.wait_for(lambda r: {s.name for s in r.spans if s.parent_id == run.span_id} >= expected)


async def test_langsmith_gets_the_turns_runs_with_the_thread_id(
    traced: ServerProcess, receiver: tuple[str, Received]
) -> None:
    _, received = receiver
    thread_id, run_id = await ask(traced, f"where is order #{fixtures.PENDING_ORDER}")

    def of_thread(r: Received) -> list[dict[str, Any]]:
        return [
            run for run in r.langsmith_runs if run.get("extra", {}).get("metadata", {}).get("thread_id") == thread_id
        ]

    root = received.wait_for(lambda r: next((run for run in of_thread(r) if run.get("name") == "support"), None))
    assert root["id"] == run_id  # LangGraph's root run is our run
    assert root["session_name"] == "switchyard-e2e"
    expected = {"guard", "route", "lookup_order", "respond"}
    assert received.wait_for(lambda r: {run.get("name") for run in of_thread(r)} >= expected)


# -- health --------------------------------------------------------------------------------


def test_health_checks_each_dependency(traced: ServerProcess, workers: ServerProcess) -> None:
    for server in (traced, workers):
        response = httpx.get(f"{server.url}/health", timeout=10)
        body = response.json()
        assert response.status_code == 200 and body["ok"] is True and body["status"] == "ok"
        checks = body["checks"]
        # Studio's store is SQLite in both modes; threads and runs too when embedded.
        assert checks["database"]["ok"] is True and checks["database"]["path"] == str(server.db)
        assert ("redis" in checks) == (server is workers) == (body["mode"]["storage"] == "scale-out")
        assert checks["llm"]["ok"] is True and checks["llm"]["reachable"] == "simulated"
        assert checks["llm"]["breaker"]["state"] == "closed"


@dataclass
class Simulator:
    process: subprocess.Popen[bytes]
    url: str  # the OpenAI-compatible base URL

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[Simulator]:
    """`switchyard sim` as its own process: the server's LLM is a real endpoint."""
    port = free_port()
    log = (tmp_path / "sim.log").open("wb")
    command = [sys.executable, "-m", "server.cli", "sim", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen([*command, "--ttft-ms", "0", "--tokens-per-s", "0"], cwd=ROOT, stdout=log, stderr=log)
    sim = Simulator(process, f"http://127.0.0.1:{port}/v1")
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{sim.url}/models", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            assert time.monotonic() < deadline and process.poll() is None, "the simulator did not start"
            time.sleep(0.1)
    yield sim
    sim.stop()


async def test_an_unreachable_llm_is_degraded_service_not_an_outage(
    simulator: Simulator, shop_template: Path, tmp_path: Path
) -> None:
    env = {
        "OPENAI_BASE_URL": simulator.url,
        "OPENAI_API_KEY": "sim",
        "SWITCHYARD_HEALTH_LLM_PROBE_TTL_S": "0.5",
        "SWITCHYARD_LLM_MAX_ATTEMPTS": "1",
    }
    with running_server(copy_db(shop_template, tmp_path / "db"), tmp_path / "server.log", env=env) as server:
        first = httpx.get(f"{server.url}/health").json()
        assert first["status"] == "ok" and first["mode"]["llm"] == "real"
        reachable = first["checks"]["llm"]["reachable"]
        assert reachable["ok"] is True and reachable["status_code"] == 200
        again = httpx.get(f"{server.url}/health").json()["checks"]["llm"]["reachable"]
        assert again["checked_at"] == reachable["checked_at"]  # within the TTL: the probe is not repeated

        simulator.stop()
        deadline = time.monotonic() + 10
        while (response := httpx.get(f"{server.url}/health")).json()["status"] != "degraded":
            assert time.monotonic() < deadline, response.json()
            time.sleep(0.1)
        body = response.json()
        assert response.status_code == 200 and body["ok"] is True  # still serving: the ladder answers
        assert body["checks"]["llm"]["ok"] is False
        assert body["checks"]["llm"]["reachable"]["error"] == "ConnectError"
        assert body["checks"]["database"]["ok"] is True

        # And it does: a question that needs the LLM gets the ladder's answer.
        client = get_client(url=server.url)
        thread = await client.threads.create()
        state = await client.runs.wait(
            thread["thread_id"], "support", input={"messages": [{"role": "user", "content": COMPLEX}]}
        )
        assert state["answer"] and state["degraded"] is not None
