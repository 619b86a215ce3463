"""The FastAPI app factory. The lifespan opens every store and injects them.

Embedded mode wires SQLite stores, in-memory event logs and an in-process run queue;
scale-out mode wires their Redis implementations. Nothing else differs between the two.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.sqlite.aio import AsyncSqliteStore
from redis.asyncio import Redis
from starlette.middleware.cors import CORSMiddleware

from graphs.registry import GRAPHS
from infra import logs
from infra.llm.service import LlmService
from infra.persistence import redis_client
from infra.persistence.api_keys import ApiKey, KeyStore, RedisKeyStore, SqliteKeyStore
from infra.persistence.checkpointer import open_checkpointer
from infra.persistence.events import EventLog, MemoryEventLog
from infra.persistence.records import RecordStore
from infra.persistence.redis_checkpointer import RedisSaver
from infra.persistence.redis_events import RedisEventLog
from infra.persistence.redis_queue import RedisRunQueue
from infra.persistence.redis_records import RedisRecordStore
from infra.persistence.sqlite import connect
from infra.persistence.sqlite_records import SqliteRecordStore
from infra.settings import Settings, db_paths, get_settings
from nodes.deps import use_llm, use_shop
from server import errors, openapi, telemetry
from server.api import assistants, meta, runs, store, threads
from server.auth import Authenticator, refuse_open_auth
from server.execution import RunExecutor
from server.limits import Limits, LocalLimits, RedisLimits
from server.middleware import BodySizeLimit, PlainTextJson, RequestId
from server.recovery import resume_unfinished, stored_request
from server.scaleout import ScaleOutExecutor, worker_id
from server.services import Services
from server.telemetry import RequestTelemetry, process_telemetry
from shop.tools import Shop

log = logging.getLogger("switchyard.server")


@dataclass
class Stores:
    checkpointer: BaseCheckpointSaver[Any]
    records: RecordStore
    events: EventLog
    executor: RunExecutor
    keys: KeyStore
    limits: Limits
    redis: Redis | None = None


@asynccontextmanager
async def embedded_stores(settings: Settings) -> AsyncIterator[Stores]:
    """One process: SQLite files, in-memory event logs, runs queued in this process."""
    paths = db_paths(settings.db)
    checkpointer = open_checkpointer(paths.checkpoints)
    records = await SqliteRecordStore.open(paths.records)
    events = MemoryEventLog(ttl_seconds=settings.event_ttl_seconds)
    # Thread streams never close: they keep each thread's newest events only.
    thread_events = MemoryEventLog(ttl_seconds=settings.event_ttl_seconds, max_events=settings.thread_stream_events)
    executor = RunExecutor(records, events, settings.max_running_runs, thread_events)
    keys = SqliteKeyStore(paths.records)
    limits = LocalLimits(settings.runs_per_minute, settings.max_streams_per_key)
    try:
        yield Stores(checkpointer, records, events, executor, keys, limits)
    finally:
        await executor.shutdown()
        await keys.close()
        await records.close()
        checkpointer.close()


@asynccontextmanager
async def scaleout_stores(settings: Settings) -> AsyncIterator[Stores]:
    """N processes on one Redis: checkpoints, records, event logs and the run queue live there."""
    assert settings.redis_url is not None
    prefix, ttl = settings.redis_prefix, int(settings.event_ttl_seconds)
    redis = redis_client.connect(settings.redis_url)
    await redis.ping()  # fail at startup, not on the first request
    checkpointer = RedisSaver(settings.redis_url, prefix=f"{prefix}:cp")
    records = RedisRecordStore(redis, prefix)
    events = RedisEventLog(redis, prefix, ttl_seconds=ttl)
    thread_events = RedisEventLog(redis, f"{prefix}:thread", ttl_seconds=ttl, max_events=settings.thread_stream_events)
    queue = RedisRunQueue(redis, prefix, worker_id(), settings.lease_seconds)
    executor = ScaleOutExecutor(
        records, events, queue, settings.max_running_runs, thread_events, lease_seconds=settings.lease_seconds
    )
    limits = RedisLimits(
        redis, prefix, settings.runs_per_minute, settings.max_streams_per_key, lease_seconds=settings.lease_seconds
    )
    try:
        yield Stores(checkpointer, records, events, executor, RedisKeyStore(redis, prefix), limits, redis)
    finally:
        await limits.close()
        await executor.shutdown()
        await checkpointer.aclose()
        await redis.aclose()


async def authenticator(settings: Settings, keys: KeyStore) -> Authenticator | None:
    """None when auth is off (refused unless bound to loopback); the keys from settings and the store otherwise."""
    refusal = refuse_open_auth(settings.auth, settings.host)
    if refusal:
        raise SystemExit(refusal)
    if settings.auth == "off":
        log.warning("auth is OFF (SWITCHYARD_AUTH=off, loopback only): every caller sees every thread")
        return None
    configured = [ApiKey(k.id, k.tenant, k.user, k.sha256, k.name) for k in settings.api_keys]
    if not configured and not any(k.revoked_at is None for k in await keys.list()):
        log.warning("auth is on and there are no API keys: every request gets 401; create one: switchyard keys create")
    return Authenticator(configured, keys)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    paths = db_paths(settings.db)
    async with AsyncExitStack() as stack:
        stack.enter_context(process_telemetry())
        shop = await Shop.open(paths.shop, latency=settings.tool_latency_ms / 1000)
        stack.push_async_callback(shop.close)
        use_shop(shop)
        stack.callback(use_shop, None)
        stores = await stack.enter_async_context(
            scaleout_stores(settings) if settings.redis_url else embedded_stores(settings)
        )
        llm = LlmService.from_settings(settings, redis=stores.redis)
        use_llm(llm)
        stack.callback(use_llm, None)
        if settings.llm_simulated:
            log.warning(
                "LLM: no OPENAI_API_KEY or OPENAI_BASE_URL set: using the bundled SIMULATOR in-process; "
                "answers from the LLM tiers are simulated"
            )
        else:
            log.info("LLM: %s (router %s, agent %s)", llm.endpoint, settings.router_model, settings.agent_model)
        # Studio's Store API (long-term memory) stays in SQLite in both modes; see the README.
        store_conn = await connect(paths.records, autocommit=True)
        stack.push_async_callback(store_conn.close)
        memory_store = AsyncSqliteStore(store_conn)
        await memory_store.setup()
        graphs = {
            graph_id: build(checkpointer=stores.checkpointer, store=memory_store) for graph_id, build in GRAPHS.items()
        }
        services = Services(
            settings,
            graphs,
            stores.records,
            stores.events,
            stores.executor,
            memory_store,
            llm,
            stores.redis,
            auth=await authenticator(settings, stores.keys),
            limits=stores.limits,
        )
        app.state.services = services
        if isinstance(stores.executor, ScaleOutExecutor):
            stores.executor.start(lambda run, takeover: stored_request(services, run, takeover=takeover))
            log.info(
                "scale-out: worker %s on %s",
                stores.executor.queue.worker_id,
                redis_client.redacted(settings.redis_url or ""),
            )
        else:
            resumed = await resume_unfinished(services)
            if resumed:
                log.warning("resumed %d run(s) left unfinished by a previous process", resumed)
        log.info("switchyard ready: db=%s graphs=%s", settings.db, sorted(graphs))
        yield


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app. Without `settings` (each `--workers` process), they come from the environment."""
    app = FastAPI(
        title="Switchyard",
        description="LangGraph agents served on the LangGraph Platform protocol.",
        lifespan=lifespan,
    )
    app.state.settings = settings = settings or get_settings()
    logs.configure(settings.log_level, settings.log_format)  # here too: each `--workers` process builds its app
    errors.install(app)
    openapi.install(app)  # errors, streams and response schemas the handlers do not declare
    for module in (meta, assistants, threads, runs, store, telemetry):
        app.include_router(module.router)
    app.add_middleware(RequestTelemetry)  # innermost: it reads the route the router matched from the scope
    app.add_middleware(PlainTextJson)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=app.state.settings.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["content-location", "location", "x-pagination-total", "x-request-id"],
        allow_private_network=True,
    )
    app.add_middleware(RequestId)  # outermost: every response, a 413 or a CORS preflight too, carries the id
    return app
