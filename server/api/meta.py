"""Meta endpoints: liveness, server info, and readiness of each dependency."""

from __future__ import annotations

import time
from dataclasses import asdict
from importlib.metadata import version
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from infra.persistence.redis_client import redacted
from server.scaleout import ScaleOutExecutor
from server.services import Services, services

router = APIRouter(tags=["meta"])
_NO_THREAD = "00000000-0000-0000-0000-000000000000"  # a point lookup that finds nothing


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


async def _database_check(s: Services) -> dict[str, Any]:
    """The SQLite files: Studio's store in both modes, and the thread and run records when embedded."""
    check: dict[str, Any] = {"path": str(s.settings.db)}
    started = time.perf_counter()
    try:
        if s.redis is None:
            await s.records.get_thread(_NO_THREAD)
        await s.store.alist_namespaces(limit=1)
    except Exception as exc:  # a failing dependency is the answer, not an error
        return {**check, "ok": False, "error": type(exc).__name__}
    return {**check, "ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 3)}


async def _llm_check(s: Services) -> dict[str, Any]:
    """Reachability of a real endpoint (a cached probe) and its breaker. Not ok is degraded service, not
    an outage: the ladder answers without the LLM."""
    breaker = await s.llm.breakers.for_endpoint(s.llm.endpoint).refresh()
    probe = await s.llm.probe.check() if s.llm.probe is not None else None
    return {
        "ok": (probe is None or probe["ok"]) and breaker["state"] != "open",
        "endpoint": s.llm.endpoint,
        "simulated": s.settings.llm_simulated,
        "reachable": "simulated" if probe is None else probe,
        "breaker": breaker,
        "gate": {"queue_depth": s.llm.gate.queue_depth(), **asdict(s.llm.gate.stats())},
        "cache": {"responses": asdict(s.llm.responses.stats()), "answers": asdict(s.llm.answers.stats())},
    }


@router.get("/health")
async def health(s: Services = Depends(services)) -> JSONResponse:
    """Every dependency's state. `ok` (and 200, else 503) when the stores the API needs answer;
    `status` is `ok`, `degraded` (the LLM is unreachable or its breaker open: answers come from
    the ladder) or `down`."""
    checks: dict[str, dict[str, Any]] = {"database": await _database_check(s)}
    if s.redis is not None:
        checks["redis"] = await _redis_check(s)
    checks["llm"] = await _llm_check(s)
    ready = all(check["ok"] for name, check in checks.items() if name != "llm")
    body = {
        "ok": ready,
        "status": "down" if not ready else "ok" if checks["llm"]["ok"] else "degraded",
        "mode": _mode(s),
        "checks": checks,
        "graphs": sorted(s.graphs),
    }
    return JSONResponse(body, status_code=200 if ready else 503)
