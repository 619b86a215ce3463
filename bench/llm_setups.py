"""What the LLM-path benchmark runs against: `switchyard sim` and `switchyard serve` as their own
processes, a client that asks one question over HTTP/SSE, and the server's resident memory.

A question is one thread and one streamed run (`stream_mode=values`, like `bench.setups`); only
the last `values` frame is parsed, and it is what the caller checks routing and usage on.
"""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.common import ROOT, BrokenRun, ServerProcess, free_port, start_server, stream_run


@dataclass(frozen=True)
class SimSpeed:
    ttft_ms: float
    tokens_per_s: float


async def start_simulator(speed: SimSpeed, workdir: Path, ready_timeout: float = 60.0) -> ServerProcess:
    """`switchyard sim` on a free loopback port, ready once it lists its models."""
    port = free_port()
    log = workdir / f"sim-{port}.log"
    command = [sys.executable, "-m", "server.cli", "sim", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--ttft-ms", str(speed.ttft_ms), "--tokens-per-s", str(speed.tokens_per_s), "--log-level", "warning"]
    return await start_server(
        "switchyard sim", command, port, log, cwd=ROOT, env={}, ready_timeout=ready_timeout, ready_path="/v1/models"
    )


@dataclass(frozen=True)
class LlmStack:
    sim: ServerProcess
    server: ServerProcess

    @property
    def llm_url(self) -> str:
        return f"{self.sim.url}/v1"


@asynccontextmanager
async def llm_stack(
    db: Path, workdir: Path, speed: SimSpeed, env: dict[str, str] | None = None
) -> AsyncIterator[LlmStack]:
    """The simulator, then `switchyard serve` pointed at it (a real endpoint, not the in-process one)."""
    sim = await start_simulator(speed, workdir)
    try:
        port = free_port()
        command = [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
        child_env = {
            "SWITCHYARD_DB": str(db),
            "SWITCHYARD_TOOL_LATENCY_MS": "0",
            "LANGSMITH_TRACING": "false",
            "OPENAI_BASE_URL": f"{sim.url}/v1",
            "OPENAI_API_KEY": "sim",
            **(env or {}),
        }
        log = workdir / f"serve-{port}.log"
        server = await start_server("switchyard serve", [*command, "--db", str(db)], port, log, cwd=ROOT, env=child_env)
        try:
            yield LlmStack(sim, server)
        finally:
            server.stop()
    finally:
        sim.stop()


def http_client(url: str, connections: int, timeout_s: float = 120.0) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections + 4, max_keepalive_connections=connections + 4)
    return httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(timeout_s), limits=limits)


@dataclass(frozen=True)
class Answer:
    latency: float  # seconds from creating the thread to the end of the stream
    ttfe: float  # seconds from the stream request to its first frame
    values: dict[str, Any]  # the run's last `values` frame


async def ask(client: httpx.AsyncClient, text: str) -> Answer:
    """One question: a new thread, a streamed run on it, read to the end."""
    started = time.perf_counter()
    created = await client.post("/threads", json={})
    created.raise_for_status()
    body = {
        "assistant_id": "support",
        "input": {"messages": [{"role": "user", "content": text}]},
        "stream_mode": ["values"],
    }
    sent = time.perf_counter()
    first, values = await stream_run(client, created.json()["thread_id"], body, repr(text))
    ended = time.perf_counter()
    if values is None:
        raise BrokenRun(f"{text!r}: the stream ended without a values frame")
    return Answer(ended - started, first - sent, values)


def vm_rss_kb(pid: int) -> int:
    """Resident set size of a process, from /proc/<pid>/status (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")
