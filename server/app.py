"""The FastAPI app factory. The lifespan opens every store and injects them.

Embedded mode wires SQLite stores and an in-memory event log; the scale-out mode
(Redis) will differ only in which implementations are wired here.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from langgraph.store.sqlite.aio import AsyncSqliteStore
from starlette.middleware.cors import CORSMiddleware

from graphs.registry import GRAPHS
from infra.llm.service import LlmService
from infra.persistence.checkpointer import open_checkpointer
from infra.persistence.events import MemoryEventLog
from infra.persistence.sqlite import connect
from infra.persistence.sqlite_records import SqliteRecordStore
from infra.settings import Settings, db_paths, get_settings
from nodes.deps import use_llm, use_shop
from server import errors
from server.api import assistants, meta, runs, store, threads
from server.execution import RunExecutor
from server.middleware import PlainTextJson
from server.recovery import resume_unfinished
from server.services import Services
from shop.tools import Shop

log = logging.getLogger("switchyard.server")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    paths = db_paths(settings.db)
    shop = await Shop.open(paths.shop, latency=settings.tool_latency_ms / 1000)
    use_shop(shop)
    llm = LlmService.from_settings(settings)
    use_llm(llm)
    if settings.llm_simulated:
        log.warning(
            "LLM: no OPENAI_API_KEY or OPENAI_BASE_URL set: using the bundled SIMULATOR in-process; "
            "answers from the LLM tiers are simulated"
        )
    else:
        log.info("LLM: %s (router %s, agent %s)", llm.endpoint, settings.router_model, settings.agent_model)
    checkpointer = open_checkpointer(paths.checkpoints)
    store_conn = await connect(paths.records, autocommit=True)
    memory_store = AsyncSqliteStore(store_conn)
    await memory_store.setup()
    records = await SqliteRecordStore.open(paths.records)
    events = MemoryEventLog(ttl_seconds=settings.event_ttl_seconds)
    # Thread streams never close: they keep each thread's newest events only.
    thread_events = MemoryEventLog(ttl_seconds=settings.event_ttl_seconds, max_events=settings.thread_stream_events)
    executor = RunExecutor(records, events, settings.max_running_runs, thread_events)
    graphs = {graph_id: build(checkpointer=checkpointer, store=memory_store) for graph_id, build in GRAPHS.items()}
    app.state.services = services = Services(settings, graphs, records, events, executor, memory_store, llm)
    resumed = await resume_unfinished(services)
    if resumed:
        log.warning("resumed %d run(s) left unfinished by a previous process", resumed)
    log.info("switchyard ready: db=%s graphs=%s", settings.db, sorted(graphs))
    try:
        yield
    finally:
        await executor.shutdown()
        await records.close()
        await store_conn.close()
        checkpointer.close()
        use_shop(None)
        use_llm(None)
        await shop.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(
        title="Switchyard",
        description="LangGraph agents served on the LangGraph Platform protocol.",
        lifespan=lifespan,
    )
    app.state.settings = settings or get_settings()
    errors.install(app)
    for module in (meta, assistants, threads, runs, store):
        app.include_router(module.router)
    app.add_middleware(PlainTextJson)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=app.state.settings.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["content-location", "location", "x-pagination-total", "x-request-id"],
        allow_private_network=True,
    )
    return app
