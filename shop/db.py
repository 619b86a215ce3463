"""Connections to the shop database: shared reads, and one serialised writer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import aiosqlite

from . import schema
from .errors import ShopNotSeeded


async def connect(path: Path) -> aiosqlite.Connection:
    """An autocommit connection (transactions are explicit) with the shop's pragmas and `Row` results."""
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        conn.row_factory = aiosqlite.Row
        for pragma in schema.PRAGMAS:
            await conn.execute(pragma)
    except BaseException:
        await conn.close()
        raise
    return conn


async def read_as_of(conn: aiosqlite.Connection) -> datetime:
    """The frozen reference moment of a seeded shop; `ShopNotSeeded` when the file holds no shop."""
    cursor = await conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'shop_meta'")
    row = await cursor.fetchone()
    if row is not None:
        cursor = await conn.execute("SELECT value FROM shop_meta WHERE key = 'as_of'")
        row = await cursor.fetchone()
    if row is None:
        raise ShopNotSeeded("the database holds no seeded shop; run seed_database first")
    return datetime.fromisoformat(row[0])


class Writer:
    """The single write connection of a `Shop`.

    SQLite allows one writer at a time. The asyncio.Lock orders writers inside this process; `BEGIN IMMEDIATE`
    takes SQLite's write lock up front, so a writer in another process (or another `Shop`) waits on
    busy_timeout instead of both reading a balance and then both writing.
    """

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Yield the connection inside BEGIN IMMEDIATE; commit on success, roll back on any exception."""
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    async def close(self) -> None:
        await self._conn.close()


async def open_connections(path: Path) -> tuple[aiosqlite.Connection, Writer, datetime]:
    """Reader, writer and the shop's as_of for an existing seeded file; never creates a file."""
    if not await asyncio.to_thread(path.is_file):
        raise ShopNotSeeded(f"{path} does not exist; run seed_database first")
    reader = await connect(path)
    try:
        as_of = await read_as_of(reader)
        writer = Writer(await connect(path))
    except BaseException:
        await reader.close()
        raise
    return reader, writer, as_of
