"""The three ways the fast-path benchmark runs one refund, all behind `RunOnce`.

(a) in-process `graph.astream`, the floor; (b) `switchyard serve` and (c) `langgraph dev`
over HTTP/SSE with the same client. Each setup is an async context manager that owns its
db copy and its server process, and yields `run(order_id) -> RunTiming`.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx

from bench.common import (
    NO_APPROVAL,
    ROOT,
    check_answer,
    free_port,
    refund_input,
    start_server,
    stream_run,
)
from bench.redis_server import redis_server


@dataclass(frozen=True)
class RunTiming:
    latency: float  # seconds from the first request (or astream call) to the end of the stream
    ttfe: float  # seconds from the stream request to its first event


RunOnce = Callable[[int], Awaitable[RunTiming]]
# A setup gets its db copy, a folder for logs and scratch files, and the highest concurrency it will see.
Setup = Callable[[Path, Path, int], AbstractAsyncContextManager[RunOnce]]


@asynccontextmanager
async def in_process(db: Path, workdir: Path, max_concurrency: int) -> AsyncIterator[RunOnce]:
    """The graph with the server's checkpointer setup, no HTTP: what serving cannot beat."""
    from langchain_core.runnables import RunnableConfig

    from graphs.support import build
    from infra.persistence.checkpointer import open_checkpointer
    from nodes.deps import use_shop
    from nodes.state import Context
    from shop.tools import Shop

    shop = await Shop.open(db / "shop.db")
    use_shop(shop)
    saver = open_checkpointer(db / "checkpoints.db")
    try:
        graph = build(checkpointer=saver)

        async def run(order_id: int) -> RunTiming:
            config: RunnableConfig = {"configurable": {"thread_id": str(uuid4())}}
            started = time.perf_counter()
            first: float | None = None
            last: Any = None
            async for values in graph.astream(
                refund_input(order_id), config, context=Context(**NO_APPROVAL), stream_mode="values"
            ):
                first = first or time.perf_counter()
                last = values
            ended = time.perf_counter()
            check_answer(last, order_id)
            return RunTiming(ended - started, (first or ended) - started)

        yield run
    finally:
        use_shop(None)
        saver.close()
        await shop.close()


@asynccontextmanager
async def sse_client(url: str, max_concurrency: int, headers: dict[str, str] | None = None) -> AsyncIterator[RunOnce]:
    """One run = create a thread, stream a run on it, read to the end. Only the last `values`
    frame is parsed, so the client spends as little CPU as possible beside the server."""
    limits = httpx.Limits(max_connections=max_concurrency + 4, max_keepalive_connections=max_concurrency + 4)
    timeout = httpx.Timeout(60.0)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits, headers=headers) as client:

        async def run(order_id: int) -> RunTiming:
            started = time.perf_counter()
            created = await client.post("/threads", json={})
            created.raise_for_status()
            body = {
                "assistant_id": "support",
                "input": refund_input(order_id),
                "context": NO_APPROVAL,
                "stream_mode": ["values"],
            }
            sent = time.perf_counter()
            first, values = await stream_run(client, created.json()["thread_id"], body, f"order {order_id}")
            ended = time.perf_counter()
            check_answer(values, order_id)
            return RunTiming(ended - started, first - sent)

        yield run


def _child_env(db: Path) -> dict[str, str]:
    # No tracing (network calls) and no simulated tool latency: the path itself is measured.
    return {"SWITCHYARD_DB": str(db), "SWITCHYARD_TOOL_LATENCY_MS": "0", "LANGSMITH_TRACING": "false"}


def switchyard(workers: int | None = None, auth: bool = False) -> Setup:
    """`switchyard serve`: embedded (SQLite) when `workers` is None, else scale-out with that
    many worker processes on one port and a redis-server of its own (no persistence). With
    `auth`, API keys on: every request carries a key of the store, limits high enough not to bite."""

    @asynccontextmanager
    async def setup(db: Path, workdir: Path, max_concurrency: int) -> AsyncIterator[RunOnce]:
        port = free_port()
        command = [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--db", str(db)]
        name = "switchyard serve"
        async with AsyncExitStack() as stack:
            if workers is not None:
                url = stack.enter_context(redis_server(workdir / f"redis-{port}"))
                command += ["--redis-url", url, "--workers", str(workers)]
                name += f" --workers {workers}"
            log = workdir / f"switchyard-{port}.log"
            env, headers = _child_env(db), None
            if auth:
                env |= {"SWITCHYARD_AUTH": "on", "SWITCHYARD_RUNS_PER_MINUTE": "0"}
                env |= {"SWITCHYARD_MAX_STREAMS_PER_KEY": "0"}
                headers = {"x-api-key": await _stored_key(db)}
                name += " --auth on"
            server = await start_server(name, command, port, log, cwd=ROOT, env=env)
            stack.callback(server.stop)
            async with sse_client(server.url, max_concurrency, headers) as run:
                yield run

    return setup


async def _stored_key(db: Path) -> str:
    """A key in the server's own key store, so every request pays the real lookup (then its cache)."""
    from infra.persistence.api_keys import SqliteKeyStore, new_key
    from infra.settings import db_paths

    key, record = new_key("bench", "load")
    store = SqliteKeyStore(db_paths(db).records)
    await store.put(record)
    await store.close()
    return key


def _langgraph_config(folder: Path) -> Path:
    """The repo's langgraph.json with absolute paths, so `langgraph dev` can run in `folder`:
    it keeps its in-memory runtime's files (.langgraph_api) in its working directory."""
    config = json.loads((ROOT / "langgraph.json").read_text())
    config["dependencies"] = [str((ROOT / d).resolve()) for d in config.get("dependencies", [])]
    config["graphs"] = {
        name: str((ROOT / spec.split(":")[0]).resolve()) + ":" + spec.split(":", 1)[1]
        for name, spec in config["graphs"].items()
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "langgraph.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def langgraph_dev(jobs_per_worker: int | None) -> Setup:
    """`langgraph dev` as it ships (it runs one background run at a time unless `jobs_per_worker`)."""

    @asynccontextmanager
    async def setup(db: Path, workdir: Path, max_concurrency: int) -> AsyncIterator[RunOnce]:
        folder = workdir / "langgraph-dev"
        config = _langgraph_config(folder)
        cli = Path(sys.executable).parent / "langgraph"
        port = free_port()  # never the default 2024: that port belongs to the machine
        command = [
            str(cli) if cli.exists() else shutil.which("langgraph") or "langgraph",
            "dev",
            "--config",
            str(config),
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--no-browser",
            "--no-reload",
        ]
        if jobs_per_worker:
            command += ["--n-jobs-per-worker", str(jobs_per_worker)]
        env = {**_child_env(db), "LANGGRAPH_CLI_NO_ANALYTICS": "1"}
        server = await start_server("langgraph dev", command, port, workdir / "langgraph-dev.log", cwd=folder, env=env)
        try:
            async with sse_client(server.url, max_concurrency) as run:
                yield run
        finally:
            server.stop()

    return setup
