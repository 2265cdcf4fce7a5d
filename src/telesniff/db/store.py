"""The consumer's write: one idempotent upsert per batch, keyed by (chat id, message id).

Redelivery (at-least-once) and edits both land here.  A row is only
replaced by an entry the listener received later, so a redelivered old
version never overwrites a newer edit, and the stored result is exactly once.

Both databases are written through their driver directly, with statements
prepared once: on PostgreSQL the batch goes to asyncpg as column arrays
(``INSERT … SELECT FROM unnest(…)``), on SQLite to aiosqlite's ``executemany``.
Nothing is built or rendered per row or per batch in Python beyond the values,
and both give the same rows (``tests/bench/test_store_paths.py``).
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from telesniff.contract import Entry, Match, encode_matches
from telesniff.db.driver import Connection, Database, StoreError, driver_errors

_UPDATED = (
    "group_name", "chat", "sender_id", "sender", "date", "text", "matches",
    "edited", "received_at", "stream_id", "stored_at",
)  # fmt: skip
_NUL: Final = "\x00"
_REPLACEMENT: Final = "\ufffd"
_VALUE_LIMIT: Final = 512  # mentions.value is VARCHAR(512)
# detections.group_name, chat and sender (db/models.py)
_GROUP_LIMIT, _CHAT_LIMIT, _SENDER_LIMIT = 253, 255, 64

# One statement: upsert the detections, then (from what the upsert returns) insert the
# mentions of every winning entry that is not an edit.  Returns the edited winners, whose
# mentions must first be forgotten (a second statement cannot run inside this one).
_PG_UPSERT: Final = f"""
WITH won AS (
  INSERT INTO detections (chat_id, message_id, group_name, chat, sender_id, sender, date, text,
                          matches, edited, received_at, stream_id, stored_at)
  SELECT chat_id, message_id, group_name, chat, sender_id, sender, date, text,
         matches::json, edited, received_at, stream_id, $13::float8
  FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[],
              $7::float8[], $8::text[], $9::text[], $10::bool[], $11::float8[], $12::text[])
    AS batch(chat_id, message_id, group_name, chat, sender_id, sender, date, text,
             matches, edited, received_at, stream_id)
  ON CONFLICT (chat_id, message_id) DO UPDATE SET
    {", ".join(f"{name} = EXCLUDED.{name}" for name in _UPDATED)}
  WHERE detections.received_at <= EXCLUDED.received_at
  RETURNING chat_id, message_id, group_name, sender_id, sender, date, matches, edited
), mentioned AS (
  INSERT INTO mentions (chat_id, message_id, kind, value, group_name, sender_id, sender, date)
  SELECT won.chat_id, won.message_id, m.kind, left(m.value, {_VALUE_LIMIT}), won.group_name,
         won.sender_id, won.sender, won.date
  FROM won, json_to_recordset(won.matches) AS m(kind text, value text)
  WHERE NOT won.edited
  ON CONFLICT DO NOTHING
)
SELECT chat_id, message_id FROM won WHERE edited
"""  # noqa: S608 - constants only
_PG_FORGET_MENTIONS: Final = """
DELETE FROM mentions
WHERE (chat_id, message_id) IN (SELECT * FROM unnest($1::bigint[], $2::bigint[]))
"""
# The edited winners' mentions, from the rows just written.
_PG_MENTIONS_OF: Final = f"""
INSERT INTO mentions (chat_id, message_id, kind, value, group_name, sender_id, sender, date)
SELECT d.chat_id, d.message_id, m.kind, left(m.value, {_VALUE_LIMIT}), d.group_name,
       d.sender_id, d.sender, d.date
FROM unnest($1::bigint[], $2::bigint[]) AS edited(chat_id, message_id)
JOIN detections AS d USING (chat_id, message_id),
     json_to_recordset(d.matches) AS m(kind text, value text)
ON CONFLICT DO NOTHING
"""  # noqa: S608 - constants only
_SQLITE_UPSERT: Final = f"""
INSERT INTO detections (chat_id, message_id, group_name, chat, sender_id, sender, date, text,
                        matches, edited, received_at, stream_id, stored_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (chat_id, message_id) DO UPDATE SET
  {", ".join(f"{name} = excluded.{name}" for name in _UPDATED)}
WHERE detections.received_at <= excluded.received_at
"""  # noqa: S608 - column names are constants
_SQLITE_FORGET_MENTIONS: Final = "DELETE FROM mentions WHERE chat_id = ? AND message_id = ?"
_SQLITE_MENTIONS: Final = """
INSERT OR IGNORE INTO mentions (chat_id, message_id, kind, value, group_name, sender_id,
                                sender, date)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
_SQLITE_KEYS_PER_QUERY: Final = 4000  # two parameters each, under SQLite's limit of 32766


@dataclass(frozen=True, slots=True)
class Stored:
    """An entry with its stream id (the cursor clients resume from)."""

    stream_id: str
    entry: Entry


def latest_per_message(batch: Sequence[Stored]) -> list[Stored]:
    """One version per (chat, message): the one received last.

    A single INSERT … ON CONFLICT cannot touch a row twice, and the newest
    version is the one that must win anyway.
    """
    newest: dict[tuple[int, int], Stored] = {}
    for item in batch:
        entry = item.entry
        key = (entry.chat_id, entry.message_id)
        current = newest.get(key)
        if current is None or entry.received_at >= current.entry.received_at:
            newest[key] = item
    # Stream order (a row's id is its arrival order, which history pages by); a deadlock
    # between replicas writing the same message is a StoreError, and retried.
    return list(batch) if len(newest) == len(batch) else list(newest.values())


def _storable(item: Stored) -> Stored:
    """The item as the tables can hold it: NUL as U+FFFD, names cut to their columns.

    PostgreSQL text cannot hold NUL (nor JSON's ``\\u0000`` once extracted), and a
    value longer than its ``VARCHAR`` is refused: either would fail the whole batch on
    every retry and stop the consumer.  The contract does not bound these (a producer
    other than the listener may send anything), so they are made to fit here, the
    same way on SQLite, so both databases store the same rows.
    """
    entry = item.entry
    chat, sender = entry.chat, entry.sender
    if (
        _NUL not in entry.text
        and _NUL not in entry.group
        and len(entry.group) <= _GROUP_LIMIT
        and (chat is None or (_NUL not in chat and len(chat) <= _CHAT_LIMIT))
        and (sender is None or (_NUL not in sender and len(sender) <= _SENDER_LIMIT))
        and all(_NUL not in match.value for match in entry.matches)
    ):
        return item
    clean = msgspec.structs.replace(
        entry,
        text=_fit(entry.text, None),
        group=_fit(entry.group, _GROUP_LIMIT),
        chat=chat and _fit(chat, _CHAT_LIMIT),
        sender=sender and _fit(sender, _SENDER_LIMIT),
        matches=tuple(Match(match.kind, _fit(match.value, None)) for match in entry.matches),
    )
    return Stored(item.stream_id, clean)


def _fit(value: str, limit: int | None) -> str:
    return value.replace(_NUL, _REPLACEMENT)[:limit]


async def upsert(
    database: Database, batch: Sequence[Stored], *, connection: Connection | None = None
) -> int:
    """Write a batch in one transaction; returns how many messages it covered.

    ``connection`` (from ``database.connect()``, kept open by the caller) saves a
    connection per batch: the consumer keeps one per batch in flight.  Raises
    StoreError (the driver's error chained) when the database refuses or is lost.
    """
    items = [_storable(item) for item in latest_per_message(batch)]
    if not items:
        return 0
    own = connection is None
    driver = await database.connect() if connection is None else connection
    try:
        if database.dialect == "postgresql":
            await _upsert_postgresql(driver, items)
        else:
            await _upsert_sqlite(driver, items)
    except driver_errors() as error:
        raise StoreError(f"{type(error).__name__}: {error}") from error
    finally:
        if own:
            await database.discard(driver)
    return len(items)


async def _upsert_postgresql(driver: Any, items: Sequence[Stored]) -> None:
    """PostgreSQL through asyncpg (``driver``)."""
    columns = tuple(zip(*map(_detection_row, items), strict=True))
    if not any(item.entry.edit for item in items):
        # A single statement is its own transaction: no BEGIN/COMMIT round trips.
        await driver.execute(_PG_UPSERT, *columns, time.time())
        return
    async with driver.transaction():
        edited = await driver.fetch(_PG_UPSERT, *columns, time.time())
        if edited:
            # An edit can drop a match; its mentions are rewritten from scratch.
            keys = ([row[0] for row in edited], [row[1] for row in edited])
            await driver.execute(_PG_FORGET_MENTIONS, *keys)
            await driver.execute(_PG_MENTIONS_OF, *keys)


def _detection_row(item: Stored) -> tuple[Any, ...]:
    entry = item.entry
    matches = encode_matches(entry.matches).decode()
    return (
        entry.chat_id, entry.message_id, entry.group, entry.chat, entry.sender_id, entry.sender,
        entry.date, entry.text, matches, entry.edit, entry.received_at, item.stream_id,
    )  # fmt: skip


def _mention_rows(items: Sequence[Stored]) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for item in items:
        entry = item.entry
        head = (entry.chat_id, entry.message_id)
        tail = (entry.group, entry.sender_id, entry.sender, entry.date)
        rows.extend((*head, m.kind, m.value[:_VALUE_LIMIT], *tail) for m in entry.matches)
    return rows


async def _upsert_sqlite(driver: Any, items: Sequence[Stored]) -> None:
    """SQLite through aiosqlite (``driver``): one write transaction, ``executemany``.

    SQLite has a single writer, so reading the stored versions first and writing only
    the entries that win gives the same result as PostgreSQL's ``RETURNING``.
    """
    await driver.execute("BEGIN IMMEDIATE")
    try:
        stored = await _sqlite_received_at(driver, items)
        winners = [
            item
            for item in items
            if stored.get((item.entry.chat_id, item.entry.message_id), -math.inf)
            <= item.entry.received_at
        ]
        if winners:
            now = time.time()
            await driver.executemany(
                _SQLITE_UPSERT, [(*_detection_row(item), now) for item in winners]
            )
            edited = [(i.entry.chat_id, i.entry.message_id) for i in winners if i.entry.edit]
            if edited:
                # An edit can drop a match; its mentions are rewritten from scratch.
                await driver.executemany(_SQLITE_FORGET_MENTIONS, edited)
            mentions = _mention_rows(winners)
            if mentions:
                await driver.executemany(_SQLITE_MENTIONS, mentions)
        await driver.commit()
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            await driver.rollback()
        raise


async def _sqlite_received_at(driver: Any, items: Sequence[Stored]) -> dict[tuple[int, int], float]:
    """``received_at`` of the rows already stored for these messages."""
    found: dict[tuple[int, int], float] = {}
    for start in range(0, len(items), _SQLITE_KEYS_PER_QUERY):
        chunk = items[start : start + _SQLITE_KEYS_PER_QUERY]
        keys = ",".join("(?,?)" for _ in chunk)
        parameters = [
            value for item in chunk for value in (item.entry.chat_id, item.entry.message_id)
        ]
        cursor = await driver.execute(
            "SELECT chat_id, message_id, received_at FROM detections"  # noqa: S608 - placeholders
            f" WHERE (chat_id, message_id) IN (VALUES {keys})",
            parameters,
        )
        for chat_id, message_id, received_at in await cursor.fetchall():
            found[chat_id, message_id] = received_at
        await cursor.close()
    return found
