"""Opening SQLite the way every store here wants it."""

from __future__ import annotations

from pathlib import Path

import aiosqlite

# WAL lets readers run beside the single writer; synchronous=NORMAL in WAL mode
# fsyncs at checkpoint time rather than on every commit: a power cut may lose the
# last transactions, a process crash (kill -9) loses nothing.
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=10000",
    "PRAGMA foreign_keys=ON",
)


async def connect(path: Path | str, *, autocommit: bool = False) -> aiosqlite.Connection:
    """`autocommit` is what LangGraph's SQLite store expects (it manages no transactions)."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(str(path), isolation_level=None if autocommit else "DEFERRED")
    for pragma in PRAGMAS:
        await conn.execute(pragma)
    return conn
