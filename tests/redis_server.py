"""A real `redis-server` for tests, in a temp dir on a free loopback port, stopped by pid."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.redis_server import AOF_ALWAYS, NO_PERSISTENCE, RedisProcess
from bench.redis_server import redis_process as _redis_process

__all__ = ["RedisProcess", "redis_process", "redis_server"]


@contextmanager
def redis_process(*, aof: bool = False) -> Iterator[RedisProcess]:
    """`aof`: every write fsynced to an append-only file, so `stop()` then `start()` loses nothing."""
    with tempfile.TemporaryDirectory(prefix="redis-") as folder:
        with _redis_process(Path(folder), AOF_ALWAYS if aof else NO_PERSISTENCE) as server:
            yield server


@contextmanager
def redis_server() -> Iterator[str]:
    """Start `redis-server` without persistence, yield its `redis://` URL."""
    with redis_process() as server:
        yield server.url
