"""The batch upsert gives the same rows on PostgreSQL (asyncpg, unnest) and SQLite (aiosqlite).

The PostgreSQL path is the hot path ``telesniff bench`` measures; these pin its behaviour:
newest version wins, stale redeliveries change nothing, edits rewrite mentions, row ids
follow stream order, and a refused write is a StoreError the consumer retries.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from telesniff.bench.tally import Tally
from telesniff.contract import Entry, Match
from telesniff.db.driver import Database, StoreError
from telesniff.db.models import Detection, Mention
from telesniff.db.store import Stored, upsert
from tests.factories import entry


def sol(n: int) -> Match:
    return Match("solana", f"So1ana{n:038d}")


def version(message_id: int, received_at: float, *matches: Match, **fields: Any) -> Entry:
    return entry(message_id, received_at=received_at, matches=matches, **fields)


async def rows(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    async with engine.connect() as connection:
        result = await connection.execute(
            select(
                Detection.message_id, Detection.text, Detection.edited, Detection.stream_id,
                Detection.matches,
            ).order_by(Detection.id)
        )  # fmt: skip
        return [tuple(row) for row in result]


async def mentions(engine: AsyncEngine) -> set[tuple[int, str]]:
    async with engine.connect() as connection:
        result = await connection.execute(select(Mention.message_id, Mention.value))
        return {(row[0], row[1]) for row in result}


async def test_newest_wins_and_edits_rewrite_mentions(
    engine: AsyncEngine, database: Database
) -> None:
    first = [
        Stored("1-0", version(1, 10.0, sol(1), text="one")),
        Stored("2-0", version(2, 10.0, sol(2), text="two")),
        Stored("3-0", version(3, 12.0, sol(3), text="three v2")),
        Stored("4-0", version(4, 10.0, sol(4), sol(44), text="four")),
        Stored("5-0", version(3, 11.0, sol(33), text="three v1")),  # older, same batch
    ]
    assert await upsert(database, first) == 4
    second = [
        Stored("6-0", version(2, 20.0, sol(22), text="two fixed", edit=True)),
        Stored("7-0", version(4, 5.0, sol(99), text="four stale")),  # an old redelivery
        Stored("8-0", version(5, 20.0, sol(5), text="five")),
    ]
    assert await upsert(database, second) == 3

    found = await rows(engine)
    assert [(row[0], row[1], row[2], row[3]) for row in found] == [
        (1, "one", False, "1-0"),
        (2, "two fixed", True, "6-0"),
        (3, "three v2", False, "3-0"),
        (4, "four", False, "4-0"),
        (5, "five", False, "8-0"),
    ]
    assert found[1][4] == [{"kind": "solana", "value": sol(22).value}]
    assert await mentions(engine) == {
        (1, sol(1).value), (2, sol(22).value), (3, sol(3).value),
        (4, sol(4).value), (4, sol(44).value), (5, sol(5).value),
    }  # fmt: skip


async def test_redelivered_batch_changes_nothing(engine: AsyncEngine, database: Database) -> None:
    batch = [Stored(f"{n}-0", version(n, 10.0, sol(n), sol(n + 100))) for n in range(1, 51)]
    await upsert(database, batch)
    before = (await rows(engine), await mentions(engine))
    await upsert(database, batch)
    assert (await rows(engine), await mentions(engine)) == before
    assert len(before[1]) == 100


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_refused_write_is_a_store_error(engine: AsyncEngine, database: Database) -> None:
    # The contract refuses such an id; an Entry built in code can still carry one.
    too_wide = version(1, 10.0, sol(1), chat_id=2**64)  # chat_id is BIGINT
    with pytest.raises(StoreError, match="DataError"):
        await upsert(database, [Stored("1-0", too_wide)])
    assert await rows(engine) == []


async def test_a_bench_step_leaves_empty_tables_behind(
    engine: AsyncEngine, database: Database
) -> None:
    """Between throughput steps the bench empties the database it started (``Tally.empty``)."""
    await upsert(database, [Stored(f"{n}-0", version(n, 10.0, sol(n))) for n in range(1, 21)])
    assert len(await rows(engine)) == 20
    await Tally(engine).empty()
    assert (await rows(engine), await mentions(engine)) == ([], set())
    await upsert(database, [Stored("21-0", version(21, 10.0, sol(21)))])
    assert [row[0] for row in await rows(engine)] == [21]
