"""Meta endpoints: liveness, server info, and readiness of each dependency."""

from __future__ import annotations

from dataclasses import asdict
from importlib.metadata import version
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from infra.persistence.records import ThreadQuery
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
        "mode": {"storage": "embedded", "llm": "simulated" if s.settings.llm_simulated else "real"},
    }


@router.get("/health")
async def health(s: Services = Depends(services)) -> JSONResponse:
    checks: dict[str, dict[str, Any]] = {}
    try:
        await s.records.count_threads(_ANY_THREAD)
        checks["database"] = {"ok": True, "path": str(s.settings.db)}
    except Exception as exc:  # a failing dependency is the answer, not an error
        checks["database"] = {"ok": False, "error": type(exc).__name__}
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
        "mode": {"storage": "embedded", "llm": "simulated" if s.settings.llm_simulated else "real"},
        "checks": checks,
        "graphs": sorted(s.graphs),
    }
    return JSONResponse(body, status_code=200 if healthy else 503)
