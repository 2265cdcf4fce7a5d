"""The gateway's read connections (telesniff.db.reader) on real PostgreSQL and SQLite."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from telesniff.db.driver import Database, StoreError
from telesniff.db.reader import Reader, numbered
from tests.servers import free_port


async def values(reader: Reader, sql: str, *args: object) -> list[tuple[object, ...]]:
    return [tuple(row) for row in await reader.fetch(sql, *args)]


def test_placeholders_are_numbered_for_asyncpg() -> None:
    assert numbered("SELECT 1") == "SELECT 1"
    assert numbered("a = ? AND b IN (?, ?) LIMIT ?") == "a = $1 AND b IN ($2, $3) LIMIT $4"


async def test_reads_on_either_database(database: Database) -> None:
    reader = Reader(database)
    try:
        await reader.open()
        assert await values(reader, "SELECT count(*) FROM detections") == [(0,)]
        rows = await reader.fetch("SELECT CAST(? AS text) AS a, CAST(? AS integer) AS b", "x", 2)
        assert (rows[0]["a"], rows[0]["b"], rows[0][1]) == ("x", 2, 2)
        # Concurrent requests share the pool (PostgreSQL) or take turns (SQLite).
        results = await asyncio.gather(
            *(reader.fetch("SELECT CAST(? AS integer)", n) for n in range(20))
        )
        assert [rows[0][0] for rows in results] == list(range(20))
    finally:
        await reader.close()


async def test_a_refused_statement_is_a_store_error_and_the_reader_goes_on(
    database: Database,
) -> None:
    reader = Reader(database)
    try:
        with pytest.raises(StoreError, match=r"no such table|does not exist"):
            await reader.fetch("SELECT * FROM no_such_table")
        assert await values(reader, "SELECT 1") == [(1,)]
    finally:
        await reader.close()


async def test_closed_reader_refuses(database: Database) -> None:
    reader = Reader(database)
    assert await values(reader, "SELECT 1") == [(1,)]
    await reader.close()
    await reader.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        await reader.fetch("SELECT 1")


async def test_unreachable_postgres_is_a_store_error_without_the_password() -> None:
    reader = Reader.from_url(f"postgresql://someone:s3cret-pw@127.0.0.1:{free_port()}/db")
    with pytest.raises(StoreError) as raised:
        await reader.open()
    assert "s3cret-pw" not in str(raised.value)
    assert "cannot connect" in str(raised.value)
    await reader.close()


async def test_sqlite_reader_sees_a_concurrent_writer(tmp_path: Path) -> None:
    """WAL: the gateway's open read connection sees rows committed after it opened."""
    database = Database.from_url(f"sqlite:///{tmp_path / 'wal.db'}")
    writer = await database.connect()
    reader = Reader(database)
    try:
        await writer.execute("CREATE TABLE t (n INTEGER)")
        await writer.commit()
        await reader.open()
        assert await values(reader, "SELECT count(*) FROM t") == [(0,)]
        await writer.execute("INSERT INTO t VALUES (1)")
        await writer.commit()
        assert await values(reader, "SELECT count(*) FROM t") == [(1,)]
    finally:
        await reader.close()
        await writer.close()
