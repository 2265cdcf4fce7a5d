"""The consumer's write, on both databases: content PostgreSQL cannot hold."""

from __future__ import annotations

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from telesniff.contract import Match
from telesniff.db.driver import Database
from telesniff.db.models import Detection, Mention
from telesniff.db.store import Stored, upsert
from tests.factories import entry


async def test_nul_characters_are_stored_as_replacement_characters(
    engine: AsyncEngine, database: Database
) -> None:
    hostile = msgspec.structs.replace(
        entry(
            message_id=7,
            text="buy\x00now",
            sender="al\x00ice",
            matches=(Match("keyword", "a\x00b"),),
        ),
        chat="Calls\x00",
    )
    ordinary = entry(message_id=8, text="plain")

    # One batch: the hostile message must not take its neighbour down with it.
    assert await upsert(database, [Stored("1-0", hostile), Stored("2-0", ordinary)]) == 2

    async with engine.connect() as connection:
        rows = {
            row.message_id: row
            for row in await connection.execute(
                select(Detection.message_id, Detection.text, Detection.chat, Detection.sender)
            )
        }
        values = (await connection.execute(select(Mention.value))).scalars().all()
    assert (rows[7].text, rows[7].chat, rows[7].sender) == (
        "buy\ufffdnow",
        "Calls\ufffd",
        "al\ufffdice",
    )
    assert rows[8].text == "plain"
    assert "a\ufffdb" in values


async def test_names_longer_than_their_columns_are_cut_to_fit(
    engine: AsyncEngine, database: Database
) -> None:
    oversized = msgspec.structs.replace(
        entry(message_id=9, sender="s" * 100, group="g" * 300), chat="c" * 300
    )
    assert await upsert(database, [Stored("1-0", oversized), Stored("2-0", entry(10))]) == 2

    async with engine.connect() as connection:
        rows = {
            row.message_id: row
            for row in await connection.execute(
                select(Detection.message_id, Detection.group_name, Detection.chat, Detection.sender)
            )
        }
    assert (rows[9].group_name, rows[9].chat, rows[9].sender) == ("g" * 253, "c" * 255, "s" * 64)
    assert rows[10].chat == "Alpha Calls"
