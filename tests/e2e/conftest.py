from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ServerProcess, copy_db, running_server


@pytest.fixture(scope="module")
def server(shop_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real `switchyard serve` per test module; each test creates its own threads."""
    folder = tmp_path_factory.mktemp("server")
    db = copy_db(shop_template, folder / "db")
    with running_server(db, folder / "server.log") as process:
        yield process
