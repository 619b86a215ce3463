"""Settings: every option has a `SWITCHYARD_*` environment variable; the CLI overrides them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# USD per 1,000 tokens (prompt, completion). Unknown models cost nothing but are logged.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.00015, 0.0006),
    "gpt-4o": (0.0025, 0.01),
    "gpt-4.1-mini": (0.0004, 0.0016),
    "gpt-4.1": (0.002, 0.008),
}


# A tenant or user name: it appears in store namespaces and logs, so it stays plain.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


class ConfiguredKey(BaseModel):
    """An API key given in the settings: its id and digest, never the key (`switchyard keys create --print`)."""

    id: str = Field(pattern=r"^[0-9a-f]{12}$")
    tenant: str = Field(pattern=NAME_PATTERN)
    user: str = Field(pattern=NAME_PATTERN)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    name: str = ""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SWITCHYARD_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8123
    # A folder (shop.db and state.db inside) or one file holding everything.
    db: Path = Path("var")
    log_level: str = "info"
    # Logs (infra/logs.py): one JSON object per line for collectors, or text for a human at a terminal.
    log_format: Literal["json", "text"] = "json"
    # Browser origins allowed by CORS. LangGraph Studio runs on smith.langchain.com.
    cors_origins: list[str] = ["*"]
    # Request bodies larger than this are refused with 413, declared or chunked.
    max_body_bytes: int = 1024 * 1024

    # API keys (`switchyard keys`). "off" (local use, LangGraph Studio) is refused unless bound to loopback.
    auth: Literal["on", "off"] = "on"
    # Keys given here rather than in the store, as digests: a JSON list of {"id", "tenant", "user", "sha256"}.
    api_keys: list[ConfiguredKey] = Field(default_factory=list)
    # Limits (0: none). Per key: runs started per minute (429 + Retry-After), SSE streams open at once.
    runs_per_minute: int = 600
    max_streams_per_key: int = 32
    # Per tenant: threads kept (403 thread_quota_exceeded beyond). Per message: characters of its text.
    max_threads_per_tenant: int = 100_000
    max_message_chars: int = 16_000

    # Runs executing at once in this process; more wait their turn (pending), so a burst
    # shares the CPU in order instead of every run missing its deadline together.
    max_running_runs: int = 64
    # Streaming.
    heartbeat_seconds: float = 5.0
    event_ttl_seconds: float = 3600.0
    # Events kept per thread for `GET /threads/{id}/stream` replays.
    thread_stream_events: int = 1000

    # Scale-out: with a Redis URL, threads, runs, checkpoints, event logs, the run queue, the LLM
    # gate and the LLM cache's second tier live in Redis, shared by every process on it.
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("SWITCHYARD_REDIS_URL", "REDIS_URL"))
    # Every key this service writes starts with this prefix (several deployments can share a Redis).
    redis_prefix: str = "sy"
    # A process that stops renewing its runs' leases for this long is presumed dead; others take over.
    lease_seconds: float = 10.0
    # Processes `serve` starts on one port (scale-out mode only).
    workers: int = 1

    # Refunds above this amount (in the order's currency) wait for a human's approval.
    refund_approval_limit: float = 100.00

    # The demo shop.
    seed: int = 42
    tool_latency_ms: float = 0.0
    # Rows the demo shop is built with when `serve` finds no shop.
    seed_customers: int = 2000
    seed_orders: int = 10000

    # LLM endpoint. No key and no base URL: the bundled simulator runs in-process.
    openai_api_key: str | None = Field(default=None, validation_alias=AliasChoices("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(default=None, validation_alias=AliasChoices("OPENAI_BASE_URL"))
    llm_timeout_s: float = 20.0
    router_model: str = "gpt-4o-mini"
    agent_model: str = "gpt-4o"
    responder_model: str = "gpt-4o-mini"
    # Tiers that use the LLM.
    llm_router: bool = True
    responder: bool = False
    # Agent bounds, per run.
    agent_max_iterations: int = 4
    run_token_budget: int = 12000
    run_cost_budget_usd: float = 0.05
    tool_timeout_s: float = 5.0
    # The gate in front of the LLM.
    llm_max_concurrency: int = 16
    llm_rpm: int = 600
    llm_tpm: int = 400000
    # Retries and the breaker.
    llm_max_attempts: int = 3
    llm_backoff_base_s: float = 0.2
    llm_backoff_max_s: float = 4.0
    run_deadline_s: float = 30.0
    breaker_failures: int = 5
    breaker_reset_s: float = 30.0
    # LLM response cache.
    llm_cache_entries: int = 2048
    llm_cache_ttl_s: float = 600.0
    prices: dict[str, tuple[float, float]] = Field(default_factory=lambda: dict(DEFAULT_PRICES))
    # The simulator (in-process, or `switchyard sim`).
    sim_ttft_ms: float = 150.0
    sim_tokens_per_s: float = 100.0
    # Fault name -> probability per request, e.g. {"429": 0.05, "cut": 0.01}.
    sim_faults: dict[str, float] = Field(default_factory=dict)
    sim_seed: int = 7

    # Observability (tracing and LangSmith take their standard OTEL_* / LANGSMITH_* variables).
    # /health probes a real LLM endpoint (GET {base}/models) at most this often, with this timeout.
    health_llm_probe_ttl_s: float = 10.0
    health_llm_probe_timeout_s: float = 2.0

    @classmethod
    def with_options(cls, options: object, *names: str) -> Settings:
        """The environment's settings, with these command-line options on top where they were given (not None)."""
        given = {name: getattr(options, name) for name in names if getattr(options, name, None) is not None}
        return cls(**given)

    @property
    def llm_simulated(self) -> bool:
        """True when the LLM is the bundled in-process simulator."""
        return not self.openai_api_key and not self.openai_base_url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


@dataclass(frozen=True)
class DbPaths:
    """Where each store lives. One file may hold all of them."""

    shop: Path
    checkpoints: Path
    records: Path


def db_paths(db: Path | str) -> DbPaths:
    """`--db` names a folder (or a path without suffix) or a single SQLite file.

    In a folder each store gets its own file, so the checkpointer, the run records
    and the shop never wait on one another's write lock.
    """
    path = Path(db)
    if path.is_dir() or (not path.exists() and path.suffix == ""):
        return DbPaths(shop=path / "shop.db", checkpoints=path / "checkpoints.db", records=path / "records.db")
    return DbPaths(shop=path, checkpoints=path, records=path)
