"""How every Redis client of this service connects: bounded timeouts and retries on reconnect.

A request fails at once when Redis refuses or drops the connection, and within seconds when
it stops answering (TCP keepalive), instead of hanging; a brief blip — a restart, a failover, AOF loading —
is ridden out by retrying with backoff for about two seconds before the caller sees it.
"""

from __future__ import annotations

import socket
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import BusyLoadingError, ConnectionError, TimeoutError

from infra.logs import redact_url


def client_options() -> dict[str, Any]:
    """Keyword arguments for `Redis.from_url` (a fresh `Retry` each: it is per client).

    No `socket_timeout`: redis-py wraps every send in `asyncio.wait_for` when one is set,
    which on Python 3.11 creates a task per command (about a sixth of a checkpoint's cost).
    A refused or reset connection fails at once anyway; a silent peer is found by TCP
    keepalive within about 8 s."""
    return {
        "socket_timeout": None,
        "socket_connect_timeout": 2.0,
        "socket_keepalive": True,
        "socket_keepalive_options": _KEEPALIVE,
        "health_check_interval": 15,
        "retry": Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=6),
        "retry_on_error": [ConnectionError, TimeoutError, BusyLoadingError],
    }


# Probe an idle connection after 5 s, then every second; give up after 3 unanswered probes.
_KEEPALIVE = {socket.TCP_KEEPIDLE: 5, socket.TCP_KEEPINTVL: 1, socket.TCP_KEEPCNT: 3}


def connect(url: str, max_connections: int = 512) -> Redis:
    """A client whose pool waits (up to 10 s) for a free connection when all `max_connections`
    are busy, instead of failing with `MaxConnectionsError` as redis-py's default pool does past
    100: a burst queues for connections rather than failing runs. Each open stream holds one
    connection while it waits for events, so the main client's pool is the larger one."""
    pool = BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=10, **client_options())
    return Redis.from_pool(pool)


def redacted(url: str) -> str:
    """The URL without its password, for logs and /health (the log redaction's own rule)."""
    return redact_url(url)
