"""A real `redis-server` for benchmarks: a free loopback port, a folder of its own, stopped by pid."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import free_port

REDIS_SERVER: str | None = shutil.which("redis-server") or (
    "/usr/bin/redis-server" if os.access("/usr/bin/redis-server", os.X_OK) else None
)
# Persistence modes: none at all, or an append-only file fsynced once a second (Redis's durable default).
NO_PERSISTENCE = ("--save", "", "--appendonly", "no")
AOF_EVERYSEC = ("--save", "", "--appendonly", "yes", "--appendfsync", "everysec")


# Every write fsynced before it is acknowledged: a restart loses nothing acknowledged.
AOF_ALWAYS = ("--save", "", "--appendonly", "yes", "--appendfsync", "always")


class RedisProcess:
    """One redis-server on a fixed port and folder, so it can be stopped and started again
    (its data survives a restart with an AOF persistence mode)."""

    def __init__(self, folder: Path, persistence: tuple[str, ...] = NO_PERSISTENCE) -> None:
        if REDIS_SERVER is None:
            raise FileNotFoundError("redis-server is not installed")
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.persistence = folder, persistence
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert REDIS_SERVER is not None
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)]
        args += [*self.persistence, "--logfile", str(self.folder / "redis.log")]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_ready(self.port, self.process, self.folder / "redis.log")

    def stop(self) -> None:
        """SIGTERM (redis-server flushes its AOF and exits); SIGKILL if it does not within 10 s."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@contextmanager
def redis_process(folder: Path, persistence: tuple[str, ...] = NO_PERSISTENCE) -> Iterator[RedisProcess]:
    server = RedisProcess(folder, persistence)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def redis_server(folder: Path, persistence: tuple[str, ...] = NO_PERSISTENCE) -> Iterator[str]:
    """Start `redis-server` with its files in `folder`, yield its `redis://` URL, stop it by pid."""
    with redis_process(folder, persistence) as server:
        yield server.url


def _wait_ready(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"redis-server exited with {process.returncode}:\n{tail}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not answer PING within 10 s")
