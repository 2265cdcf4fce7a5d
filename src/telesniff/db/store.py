"""The consumer's write: one idempotent upsert per batch, keyed by (chat id, message id).

Redelivery (at-least-once) and edits both land here.  A row is only
replaced by an entry the listener received later, so a redelivered old
version never overwrites a newer edit, and the stored result is exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from telesniff.contract import Entry
from telesniff.db.models import Detection, Mention

_UPDATED = (
    "group_name", "chat", "sender_id", "sender", "date", "text", "matches",
    "edited", "received_at", "stream_id", "stored_at",
)  # fmt: skip


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
        key = (item.entry.chat_id, item.entry.message_id)
        current = newest.get(key)
        if current is None or item.entry.received_at >= current.entry.received_at:
            newest[key] = item
    return list(newest.values())


def _insert(engine: AsyncEngine) -> Any:
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return dialect.insert


async def upsert(engine: AsyncEngine, batch: Sequence[Stored]) -> int:
    """Write a batch in one transaction; returns how many messages it covered."""
    items = latest_per_message(batch)
    if not items:
        return 0
    now = time.time()
    rows = [
        {
            "chat_id": item.entry.chat_id,
            "message_id": item.entry.message_id,
            "group_name": item.entry.group,
            "chat": item.entry.chat,
            "sender_id": item.entry.sender_id,
            "sender": item.entry.sender,
            "date": item.entry.date,
            "text": item.entry.text,
            "matches": [{"kind": m.kind, "value": m.value} for m in item.entry.matches],
            "edited": item.entry.edit,
            "received_at": item.entry.received_at,
            "stream_id": item.stream_id,
            "stored_at": now,
        }
        for item in items
    ]
    insert = _insert(engine)
    table = Detection.__table__
    statement = insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=["chat_id", "message_id"],
        set_={name: statement.excluded[name] for name in _UPDATED},
        where=table.c.received_at <= statement.excluded.received_at,
    ).returning(table.c.chat_id, table.c.message_id)
    async with engine.begin() as connection:
        result = await connection.execute(statement, rows)
        # Rows an older redelivery did not overwrite are not returned: their
        # mentions already belong to the newer version and stay as they are.
        won = {(row.chat_id, row.message_id) for row in result}
        winners = [item for item in items if (item.entry.chat_id, item.entry.message_id) in won]
        edited = [(item.entry.chat_id, item.entry.message_id) for item in winners if item.entry.edit]
        if edited:
            # An edit can drop a match; its mentions are rewritten from scratch.
            await connection.execute(
                delete(Mention).where(tuple_(Mention.chat_id, Mention.message_id).in_(edited))
            )
        mentions = _mention_rows(winners)
        if mentions:
            await connection.execute(insert(Mention.__table__).on_conflict_do_nothing(), mentions)
    return len(items)


def _mention_rows(items: Sequence[Stored]) -> list[dict[str, Any]]:
    return [
        {
            "chat_id": item.entry.chat_id,
            "message_id": item.entry.message_id,
            "kind": match.kind,
            "value": match.value[:512],
            "group_name": item.entry.group,
            "sender_id": item.entry.sender_id,
            "sender": item.entry.sender,
            "date": item.entry.date,
        }
        for item in items
        for match in item.entry.matches
    ]
