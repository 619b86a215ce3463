"""Settings: every option has a `SWITCHYARD_*` environment variable; the CLI overrides them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SWITCHYARD_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8123
    # A folder (shop.db and state.db inside) or one file holding everything.
    db: Path = Path("var")
    log_level: str = "info"
    # Browser origins allowed by CORS. LangGraph Studio runs on smith.langchain.com.
    cors_origins: list[str] = ["*"]

    # Streaming.
    heartbeat_seconds: float = 5.0
    event_ttl_seconds: float = 3600.0

    # The demo shop.
    seed: int = 42
    tool_latency_ms: float = 0.0
    # Rows the demo shop is built with when `serve` finds no shop.
    seed_customers: int = 2000
    seed_orders: int = 10000


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
        return DbPaths(
            shop=path / "shop.db", checkpoints=path / "checkpoints.db", records=path / "records.db"
        )
    return DbPaths(shop=path, checkpoints=path, records=path)
