"""Opening SQLite the way every store here wants it."""

from __future__ import annotations

import sqlite3
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


def _make_folder(path: Path | str) -> None:
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def connect_inline(path: Path | str, pragmas: tuple[str, ...] = PRAGMAS) -> sqlite3.Connection:
    """A connection used directly on the event loop (see infra.persistence.checkpointer for why);
    shared with no other thread, but not tied to the one that opened it."""
    _make_folder(path)
    conn = sqlite3.connect(str(path), check_same_thread=False)
    for pragma in pragmas:
        conn.execute(pragma)
    return conn


async def connect(path: Path | str, *, autocommit: bool = False) -> aiosqlite.Connection:
    """`autocommit` is what LangGraph's SQLite store expects (it manages no transactions)."""
    _make_folder(path)
    conn = await aiosqlite.connect(str(path), isolation_level=None if autocommit else "DEFERRED")
    for pragma in PRAGMAS:
        await conn.execute(pragma)
    return conn
