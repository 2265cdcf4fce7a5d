"""The gateway's read connections, straight on the drivers (no SQLAlchemy).

The gateway only runs a handful of fixed ``SELECT`` statements (``telesniff.db.queries``).
Through SQLAlchemy's engine they cost about 18 MB of imports resident in every gateway;
here they go to asyncpg or aiosqlite directly, like the consumer's writes
(``telesniff.db.driver``).

Statements are written once with ``?`` placeholders (SQLite's style); for asyncpg they
are rewritten to ``$1, $2, …`` (cached, so each text is rewritten once).  Rows are
``asyncpg.Record`` or ``sqlite3.Row``: both are read by column name or position.

- PostgreSQL: an asyncpg pool (1 to ``max_size`` connections), which replaces a
  connection that the server dropped on the next acquire.
- SQLite: one read connection, serialised by a lock.  WAL mode lets it read while the
  consumer writes; reads are short, and a dev/single-node store sees little concurrency.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import sqlite3
from collections.abc import Sequence
from typing import Any, Final

from telesniff.db.driver import Database, Dialect, StoreError, driver_errors

Row = Any  # an asyncpg.Record or a sqlite3.Row: row["column"] and row[index] both work

POOL_MIN: Final = 1
POOL_MAX: Final = 5
ACQUIRE_TIMEOUT_S: Final = 30.0  # as long as SQLAlchemy's pool waited for a connection
CLOSE_TIMEOUT_S: Final = 10.0


@functools.lru_cache(maxsize=512)
def numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2, …`` (no statement here quotes a ``?``)."""
    parts = sql.split("?")
    out = [parts[0]]
    for index, part in enumerate(parts[1:], start=1):
        out.append(f"${index}{part}")
    return "".join(out)


class Reader:
    """Read-only queries for the gateway; ``close()`` on shutdown.

    Every driver error comes out as ``StoreError`` with the driver's error type and
    message (never the URL, which may hold a password).
    """

    def __init__(self, database: Database, *, max_size: int = POOL_MAX) -> None:
        self.database = database
        self._max_size = max_size
        self._pool: Any = None  # asyncpg.Pool, created by open()
        self._sqlite: Any = None  # aiosqlite.Connection, opened on first use
        self._lock = asyncio.Lock()
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Reader:
        return cls(Database.from_url(url), **options)

    @property
    def dialect(self) -> Dialect:
        return self.database.dialect

    async def open(self) -> None:
        """Connect now, so a database that cannot be reached fails the start (StoreError)."""
        if self.dialect == "postgresql":
            await self._postgres_pool()
        else:
            async with self._lock:
                await self._sqlite_connection()

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """All rows of one statement (``?`` placeholders)."""
        return (await self.fetch_many([(sql, args)]))[0]

    async def fetch_many(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        """The rows of several statements, run in turn on one connection."""
        try:
            if self.dialect == "postgresql":
                pool = await self._postgres_pool()
                async with pool.acquire(timeout=ACQUIRE_TIMEOUT_S) as connection:
                    return [
                        list(await connection.fetch(numbered(sql), *args))
                        for sql, args in statements
                    ]
            async with self._lock:
                connection = await self._sqlite_connection()
                results: list[list[Row]] = []
                try:
                    for sql, args in statements:
                        cursor = await connection.execute(sql, tuple(args))
                        results.append(list(await cursor.fetchall()))
                except driver_errors():
                    # A refused statement leaves the connection usable, but a broken one
                    # must not fail every later read: a fresh one is opened next time.
                    self._sqlite = None
                    await self.database.discard(connection)
                    raise
                return results
        except driver_errors() as error:
            raise StoreError(f"read failed: {type(error).__name__}: {error}") from error

    async def close(self) -> None:
        """Close every connection (idempotent); later reads raise StoreError."""
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                # close() waits for connections in use to be released; a query stuck on a
                # dead server must not hold up shutdown.
                await asyncio.wait_for(pool.close(), CLOSE_TIMEOUT_S)
            except TimeoutError:
                pool.terminate()
        async with self._lock:
            connection, self._sqlite = self._sqlite, None
            if connection is not None:
                await connection.close()

    async def _postgres_pool(self) -> Any:
        if self._pool is None:
            async with self._lock:  # concurrent first requests create one pool
                await self._create_pool()
        return self._pool

    async def _create_pool(self) -> None:
        # Called with the lock held; another request may have created it meanwhile.
        if self._pool is None:
            if self._closed:
                raise StoreError("reader is closed")
            asyncpg = importlib.import_module("asyncpg")
            try:
                # Connections beyond the first open when concurrent requests need them and
                # close again after five idle minutes (asyncpg's default).
                self._pool = await asyncpg.create_pool(
                    self.database.target, min_size=POOL_MIN, max_size=self._max_size
                )
            except driver_errors() as error:
                raise StoreError(f"cannot connect: {type(error).__name__}: {error}") from error

    async def _sqlite_connection(self) -> Any:
        # Called with the lock held.
        if self._sqlite is None:
            if self._closed:
                raise StoreError("reader is closed")
            connection = await self.database.connect()
            connection.row_factory = sqlite3.Row
            self._sqlite = connection
        return self._sqlite
