"""Is the LLM endpoint reachable? A cheap `GET {base_url}/models`, remembered for a while.

For `/health`: load balancers ask every few seconds, and each ask must not become a request
to a paid API. One probe runs at a time; callers within `ttl_s` of the last one get its
result (with its age). Reachable means the endpoint answered: a 404 (servers without a
model list) counts, a 401/403 (the key is refused) or a 5xx does not.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx


class EndpointProbe:
    def __init__(self, base_url: str, api_key: str | None, ttl_s: float = 10.0, timeout_s: float = 2.0) -> None:
        self.url = base_url.rstrip("/") + "/models"
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.ttl_s = ttl_s
        self.timeout_s = timeout_s
        self._lock = asyncio.Lock()
        self._last: dict[str, Any] | None = None
        self._last_at = 0.0  # monotonic

    async def check(self) -> dict[str, Any]:
        """`{"ok", "status_code" | "error", "latency_ms", "checked_at", "age_s"}`."""
        async with self._lock:  # concurrent health checks share one probe
            if self._last is None or time.monotonic() - self._last_at >= self.ttl_s:
                self._last = await self._probe()
                self._last_at = time.monotonic()
            return {**self._last, "age_s": round(time.monotonic() - self._last_at, 3)}

    async def _probe(self) -> dict[str, Any]:
        result: dict[str, Any] = {"checked_at": time.time()}
        started = time.perf_counter()
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.get(self.url, headers=self._headers)
        except httpx.HTTPError as exc:  # refused, timed out, DNS: not reachable
            return {**result, "ok": False, "error": type(exc).__name__}
        code = response.status_code
        result.update(latency_ms=round((time.perf_counter() - started) * 1000, 3), status_code=code)
        if code in (401, 403):
            return {**result, "ok": False, "error": "the endpoint refused the API key"}
        if code >= 500:
            return {**result, "ok": False, "error": f"the endpoint answered {code}"}
        return {**result, "ok": True}
