"""What every benchmark needs: a shop with known refundable orders, servers on free
loopback ports, and percentiles.

Refunds really happen and are idempotent, so a second refund of the same order takes
the shorter "declined" path. Every run therefore gets its own refundable order, and
every setup gets its own copy of the same seeded shop, so setups refund the same orders.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TypeVar

import httpx

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")
SEED = 42
DEFAULT_ORDERS = 10_000  # what `switchyard serve` seeds
CUSTOMERS_PER_ORDER = 0.2  # the default shop's ratio (2000 customers, 10000 orders)


# The fast path refunds at once: no refund in a benchmark waits for a human's approval.
NO_APPROVAL: dict[str, Any] = {"refund_approval_limit": 1_000_000}


def refund_input(order_id: int) -> Any:
    return {"messages": [{"role": "user", "content": f"I want a refund for order #{order_id}"}]}


class BrokenRun(AssertionError):
    """A run did not take the refund path to the end: the numbers would measure something else."""


def check_answer(values: Any, order_id: int) -> None:
    answer = values.get("answer") if isinstance(values, dict) else None
    if not isinstance(answer, str) or "Refund of" not in answer:
        raise BrokenRun(f"order {order_id}: expected an issued refund, final answer was {answer!r}")


# -- the shop --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShopTemplate:
    """A seeded db folder (copy it, never use it) and its refundable orders, in a fixed order."""

    folder: Path
    seeded_orders: int
    refundable: list[int]


async def refundable_orders(path: Path, limit: int) -> list[int]:
    """Up to `limit` order ids that `assess_refund` judges eligible today, ascending.

    SQL only narrows the scan to orders delivered within the longest refund window (a
    40k-order shop takes a minute through the tools otherwise); the verdict is the shop's own.
    """
    from shop.policy import assess_refund
    from shop.tools import Shop

    shop = await Shop.open(path)
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            windows = [w for (w,) in conn.execute("SELECT window_days FROM refund_policies WHERE refundable = 1")]
            query = "SELECT id FROM orders WHERE delivered_at IS NOT NULL"
            params: tuple[str, ...] = ()
            if windows and None not in windows:  # a policy without a window leaves nothing to narrow
                query += " AND julianday(delivered_at) >= julianday(?)"
                params = ((shop.as_of() - timedelta(days=max(windows))).isoformat(),)
            candidates = [row[0] for row in conn.execute(query + " ORDER BY id", params)]
        found: list[int] = []
        for order_id in candidates:
            order = await shop.get_order(order_id)
            policy = await shop.get_order_refund_policy(order_id)
            if order is None or policy is None:
                continue
            history = await shop.get_payment_history(order_id)
            if assess_refund(order, history, policy, as_of=shop.as_of()).eligible:
                found.append(order_id)
                if len(found) == limit:
                    break
        return found
    finally:
        await shop.close()


async def prepare_shop(workdir: Path, needed: int, log: Any = print) -> ShopTemplate:
    """Seed the default shop; if it has fewer than `needed` refundable orders, seed a larger one."""
    from shop.seed import seed_database

    orders = DEFAULT_ORDERS
    while True:
        folder = workdir / f"template-{orders}"
        started = time.perf_counter()
        seed_database(folder / "shop.db", seed=SEED, customers=max(1, int(orders * CUSTOMERS_PER_ORDER)), orders=orders)
        found = await refundable_orders(folder / "shop.db", needed)
        log(f"shop: {orders} orders seeded, {len(found)} refundable used ({time.perf_counter() - started:.1f}s)")
        if len(found) >= needed:
            return ShopTemplate(folder, orders, found)
        # Refundable orders are a steady share of a seeded shop; aim 30% over it.
        orders = math.ceil(orders * needed / max(len(found), 1) * 1.3)
        shutil.rmtree(folder)


def fresh_copy(template: ShopTemplate, target: Path) -> Path:
    shutil.copytree(template.folder, target)
    return target


# -- server processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    if port == 2024:  # reserved on this machine; `langgraph dev` also defaults to it
        return free_port()
    return port


@dataclass
class ServerProcess:
    """A server in its own process group, so stopping it also stops what it spawned."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


async def start_server(
    name: str,
    command: list[str],
    port: int,
    log: Path,
    *,
    cwd: Path,
    env: dict[str, str],
    ready_timeout: float = 90.0,
    ready_path: str = "/ok",
) -> ServerProcess:
    """Start `command` (which must listen on 127.0.0.1:`port`) and wait until GET `ready_path` answers."""
    handle = log.open("ab")
    process = subprocess.Popen(
        command,
        cwd=cwd,
        # Benchmarks measure the service, not key checks: loopback only, auth off unless a setup says otherwise.
        env={**os.environ, "SWITCHYARD_AUTH": "off", **env},
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    handle.close()
    server = ServerProcess(name, f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + ready_timeout
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if (await client.get(f"{server.url}{ready_path}")).status_code == 200:
                    return server
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{name} did not answer {ready_path} within {ready_timeout:.0f}s:\n{log.read_text()[-3000:]}")


# -- numbers ---------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def git_sha() -> str | None:
    # rev-parse only reads; `git status` could rewrite the index, so it is not used.
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def machine_info() -> dict[str, Any]:
    packages = (
        "langgraph",
        "langgraph-api",
        "langgraph-cli",
        "langgraph-runtime-inmem",
        "langgraph-checkpoint-sqlite",
        "httpx",
        "uvicorn",
        "switchyard",
    )
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "affinity_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_avg": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "versions": {p: _version(p) for p in packages},
        "git_sha": git_sha(),
    }


# -- running a benchmark ---------------------------------------------------------------------------


def run_in_workdir(prefix: str, keep: bool, work: Callable[[Path], Coroutine[Any, Any, T]]) -> T | None:
    """Run `work` in a scratch folder, removed afterwards unless `keep`. None when a run was broken:
    a broken path is not measured, and no results are written."""
    # Tracing would add network calls to every setup; the path itself is what is measured.
    os.environ["LANGSMITH_TRACING"] = "false"
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        return asyncio.run(work(workdir))
    except BrokenRun as exc:
        print(f"broken run, no results written: {exc}", file=sys.stderr)
        return None
    finally:
        if keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def command_line(module: str, argv: Sequence[str] | None) -> str:
    """The command that produced a result file, for the record."""
    return shlex.join(["python", "-m", module, *(sys.argv[1:] if argv is None else argv)])


async def stream_run(client: httpx.AsyncClient, thread_id: str, body: dict[str, Any], what: str) -> tuple[float, Any]:
    """POST a streamed run and read it to the end: (monotonic time of its first frame, its last
    `values` frame parsed, or None). An HTTP error or an `error` event is a `BrokenRun`."""
    first: float | None = None
    event, last_values = "", ""
    async with client.stream("POST", f"/threads/{thread_id}/runs/stream", json=body) as response:
        if response.status_code != 200:
            await response.aread()
            raise BrokenRun(f"{what}: HTTP {response.status_code}: {response.text[:300]}")
        async for line in response.aiter_lines():
            if not line or line.startswith(":"):  # frame separator or heartbeat comment
                continue
            first = first or time.perf_counter()
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "values":
                last_values = line[5:]
            elif line.startswith("data:") and event == "error":
                raise BrokenRun(f"{what}: error event {line[5:300]}")
    return first or time.perf_counter(), json.loads(last_values) if last_values else None


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """`--out` and `--keep-workdir`, the same for every benchmark run by `run_in_workdir`."""
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="default bench/results")
    parser.add_argument("--keep-workdir", action="store_true", help="keep the db copies and server logs")
