from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.redis_server import redis_server
from tests.support import copy_db, seed_small_shop

# The in-process LLM simulator answers at once in tests (tests that study latency set their own),
# and servers started by tests inherit this.
os.environ.setdefault("SWITCHYARD_SIM_TTFT_MS", "0")
os.environ.setdefault("SWITCHYARD_SIM_TOKENS_PER_S", "0")
for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
    os.environ.pop(name, None)


@pytest.fixture(scope="session")
def shop_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo shop, seeded once per test session; tests get their own copy."""
    return seed_small_shop(tmp_path_factory.mktemp("template") / "db")


@pytest.fixture
def db_dir(shop_template: Path, tmp_path: Path) -> Path:
    return copy_db(shop_template, tmp_path / "db")


@pytest.fixture
async def shop(db_dir: Path) -> AsyncIterator[object]:
    from nodes.deps import use_shop
    from shop.tools import Shop

    opened = await Shop.open(db_dir / "shop.db")
    use_shop(opened)
    yield opened
    use_shop(None)
    await opened.close()


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A real redis-server of the test module's own, on a free loopback port."""
    with redis_server() as url:
        yield url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A client of the module's Redis, emptied for each test."""
    client = Redis.from_url(redis_url)
    await client.flushdb()
    yield client
    await client.aclose()
