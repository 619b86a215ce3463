"""What the API handlers share, built once in the app lifespan."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from fastapi import Request
from langgraph.pregel import Pregel
from langgraph.store.base import BaseStore
from redis.asyncio import Redis

from infra.llm.service import LlmService
from infra.persistence.events import EventLog
from infra.persistence.records import RecordStore
from infra.settings import Settings
from server.auth import Authenticator, Principal
from server.errors import NotFound
from server.execution import RunExecutor
from server.limits import Limits, LocalLimits
from server.views import assistant_id


@dataclass
class Services:
    settings: Settings
    graphs: Mapping[str, Pregel[Any, Any, Any, Any]]
    records: RecordStore
    events: EventLog
    executor: RunExecutor
    store: BaseStore
    llm: LlmService
    # Scale-out mode's shared Redis (None in embedded mode).
    redis: Redis | None = None
    # None when auth is off.
    auth: Authenticator | None = None
    limits: Limits = field(default_factory=lambda: LocalLimits(0, 0))
    # Who is calling: set on the copy each authenticated request gets (see `caller`).
    principal: Principal | None = None

    @property
    def tenant(self) -> str | None:
        """The caller's tenant; None when auth is off (every resource is visible)."""
        return self.principal.tenant if self.principal else None

    def graph_id(self, assistant: str) -> str:
        """An assistant id or a graph id, to the graph id. 404 when it names neither."""
        if assistant in self.graphs:
            return assistant
        for graph_id in self.graphs:
            if assistant_id(graph_id) == assistant:
                return graph_id
        raise NotFound(f"Assistant '{assistant}' not found.", code="assistant_not_found")


async def services(request: Request) -> Services:
    """For endpoints open to anyone (liveness, health, server info)."""
    # async: FastAPI runs a plain `def` dependency in a worker thread, a hop per request.
    return request.app.state.services  # type: ignore[no-any-return]


async def caller(request: Request) -> Services:
    """For everything else: the services as the authenticated caller sees them (401 without a valid key)."""
    s: Services = request.app.state.services
    if s.auth is None:
        return s
    return replace(s, principal=await s.auth.authenticate(request.headers))
