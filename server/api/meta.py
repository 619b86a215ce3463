"""Meta endpoints: liveness, server info, and readiness of each dependency."""

from __future__ import annotations

import time
from dataclasses import asdict
from importlib.metadata import version
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from infra.persistence.records import ThreadQuery
from infra.persistence.redis_client import redacted
from server.scaleout import ScaleOutExecutor
from server.services import Services, services

router = APIRouter(tags=["meta"])
_ANY_THREAD = ThreadQuery(limit=1)


@router.get("/ok")
async def ok() -> dict[str, Any]:
    return {"ok": True}


@router.get("/info")
async def info(s: Services = Depends(services)) -> dict[str, Any]:
    return {
        "version": version("switchyard"),
        "langgraph_py_version": version("langgraph"),
        # Crons are not implemented, so we say so; Studio hides what we lack.
        "flags": {"assistants": True, "crons": False, "langsmith": False},
        "host": {"kind": "switchyard", "project_id": None, "revision_id": None, "tenant_id": None},
        "mode": _mode(s),
    }


def _mode(s: Services) -> dict[str, str]:
    return {
        "storage": "embedded" if s.redis is None else "scale-out",
        "llm": "simulated" if s.settings.llm_simulated else "real",
    }


async def _redis_check(s: Services) -> dict[str, Any]:
    assert s.redis is not None and s.settings.redis_url is not None
    check: dict[str, Any] = {"url": redacted(s.settings.redis_url)}
    try:
        started = time.perf_counter()
        await s.redis.ping()
        check["latency_ms"] = round((time.perf_counter() - started) * 1000, 3)
        check["ok"] = True
    except RedisError as exc:
        check.update(ok=False, error=type(exc).__name__)
    if isinstance(s.executor, ScaleOutExecutor):
        check["worker"] = s.executor.queue.worker_id
    return check


@router.get("/health")
async def health(s: Services = Depends(services)) -> JSONResponse:
    checks: dict[str, dict[str, Any]] = {}
    if s.redis is None:
        try:
            await s.records.count_threads(_ANY_THREAD)
            checks["database"] = {"ok": True, "path": str(s.settings.db)}
        except Exception as exc:  # a failing dependency is the answer, not an error
            checks["database"] = {"ok": False, "error": type(exc).__name__}
    else:
        checks["redis"] = await _redis_check(s)
    breaker = s.llm.breakers.for_endpoint(s.llm.endpoint)
    snapshot = await breaker.refresh()
    checks["llm"] = {
        # An open breaker is degraded service, not an outage: the ladder still answers.
        "ok": True,
        "endpoint": s.llm.endpoint,
        "simulated": s.settings.llm_simulated,
        "breaker": snapshot,
        "gate": {"queue_depth": s.llm.gate.queue_depth(), **asdict(s.llm.gate.stats())},
        "cache": {"responses": asdict(s.llm.responses.stats()), "answers": asdict(s.llm.answers.stats())},
    }
    healthy = all(c["ok"] for c in checks.values())
    body = {
        "ok": healthy,
        "mode": _mode(s),
        "checks": checks,
        "graphs": sorted(s.graphs),
    }
    return JSONResponse(body, status_code=200 if healthy else 503)
