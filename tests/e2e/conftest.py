from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_server import redis_server
from tests.support import ServerProcess, copy_db, running_server


@pytest.fixture(scope="session")
def shared_redis() -> Iterator[str]:
    """One real redis-server for the scale-out servers of the whole session; each uses its own prefix."""
    with redis_server() as url:
        yield url


@pytest.fixture(scope="module", params=["embedded", "scale-out"])
def server(
    request: pytest.FixtureRequest, shop_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One real `switchyard serve` per test module and mode; each test creates its own threads.

    Every test using it runs twice: on SQLite in one process, and on Redis (scale-out mode)."""
    folder = tmp_path_factory.mktemp("server")
    db = copy_db(shop_template, folder / "db")
    env: dict[str, str] = {}
    if request.param == "scale-out":
        env = {
            "SWITCHYARD_REDIS_URL": request.getfixturevalue("shared_redis"),
            "SWITCHYARD_REDIS_PREFIX": f"sy{folder.name}",
        }
    with running_server(db, folder / "server.log", env=env) as process:
        yield process
