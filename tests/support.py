"""Test helpers shared by unit and end-to-end tests: a small seeded shop, free ports,
a real `switchyard serve` process."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

SMALL_SHOP = {"customers": 200, "orders": 1000}
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed_small_shop(folder: Path) -> Path:
    from shop.seed import seed_database

    folder.mkdir(parents=True, exist_ok=True)
    seed_database(folder / "shop.db", seed=42, customers=SMALL_SHOP["customers"], orders=SMALL_SHOP["orders"])
    return folder


def copy_db(template: Path, target: Path) -> Path:
    shutil.copytree(template, target)
    return target


@dataclass
class ServerProcess:
    url: str
    port: int
    db: Path
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """kill -9: no shutdown hooks, no flushes."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def start_server(
    db: Path, log: Path, *, port: int | None = None, env: dict[str, str] | None = None, workers: int = 1
) -> ServerProcess:
    port = port or free_port()
    # The test decides the mode: a REDIS_URL in the caller's environment must not switch it.
    inherited = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SWITCHYARD_REDIS_URL")}
    # Loopback only, so auth may be off; tests of auth turn it on.
    environ = {**inherited, "SWITCHYARD_HEARTBEAT_SECONDS": "5", "SWITCHYARD_AUTH": "off", **(env or {})}
    handle = log.open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--db",
            str(db),
            "--workers",
            str(workers),
        ],
        cwd=ROOT,
        env=environ,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    server = ServerProcess(f"http://127.0.0.1:{port}", port, db, process, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"{server.url}/ok", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"server did not start:\n{log.read_text()[-4000:]}")


@contextmanager
def running_server(db: Path, log: Path, **kwargs: object) -> Iterator[ServerProcess]:
    server = start_server(db, log, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()


class RoundRobin(httpx.AsyncBaseTransport):
    """A load balancer in a client: each request goes to the next server in turn."""

    def __init__(self, servers: list[ServerProcess]) -> None:
        self.ports = [s.port for s in servers]
        self.turn = 0
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(port=self.ports[self.turn % len(self.ports)])
        self.turn += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@contextmanager
def server_pair(
    db: Path, folder: Path, redis_url: str, env: dict[str, str] | None = None
) -> Iterator[list[ServerProcess]]:
    """Two scale-out servers (`a.log`, `b.log`) on one Redis, one shop file, one key prefix."""
    shared = {"SWITCHYARD_REDIS_URL": redis_url, "SWITCHYARD_REDIS_PREFIX": f"sy{folder.name}", **(env or {})}
    with running_server(db, folder / "a.log", env=shared) as a, running_server(db, folder / "b.log", env=shared) as b:
        yield [a, b]
