"""How every Redis client of this service connects: bounded timeouts and retries on reconnect.

A request fails in seconds instead of hanging when Redis is unreachable (BLPOP waits 1 s at
most, under the socket timeout), and a brief blip — a restart, a failover, AOF loading —
is ridden out by retrying with backoff for about two seconds before the caller sees it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import BusyLoadingError, ConnectionError, TimeoutError


def client_options() -> dict[str, Any]:
    """Keyword arguments for `Redis.from_url` (a fresh `Retry` each: it is per client)."""
    return {
        "socket_timeout": 5.0,
        "socket_connect_timeout": 2.0,
        "health_check_interval": 15,
        "retry": Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=6),
        "retry_on_error": [ConnectionError, TimeoutError, BusyLoadingError],
    }


def connect(url: str) -> Redis:
    return Redis.from_url(url, **client_options())


def redacted(url: str) -> str:
    """The URL without its password, for logs and /health."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
