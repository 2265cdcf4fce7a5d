"""Read queries for the gateway: detection history, totals, hot addresses, one address.

Everything here is plain SQLAlchemy Core over the two tables, so PostgreSQL and
SQLite run the same statements.  Times are epoch seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import ColumnElement, and_, exists, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from telesniff.contract import Entry, Match, to_view
from telesniff.db.models import Detection, Mention

ADDRESS_KINDS: Final = ("solana", "evm")


@dataclass(frozen=True, slots=True)
class DetectionQuery:
    groups: frozenset[str] | None = None
    chat_id: int | None = None
    sender_id: int | None = None
    sender: str | None = None  # username, matched case-insensitively
    kinds: frozenset[str] | None = None
    text: str | None = None  # substring, case-insensitive
    since: float | None = None  # date >= since
    until: float | None = None  # date < until
    before_id: int | None = None  # pagination: rows with a smaller id
    limit: int = 100


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(query: DetectionQuery) -> list[ColumnElement[bool]]:
    table = Detection
    conditions: list[ColumnElement[bool]] = []
    if query.groups is not None:
        conditions.append(table.group_name.in_(sorted(query.groups)))
    if query.chat_id is not None:
        conditions.append(table.chat_id == query.chat_id)
    if query.sender_id is not None:
        conditions.append(table.sender_id == query.sender_id)
    if query.sender is not None:
        conditions.append(func.lower(table.sender) == query.sender.lower())
    if query.kinds is not None:
        conditions.append(
            exists().where(
                Mention.chat_id == table.chat_id,
                Mention.message_id == table.message_id,
                Mention.kind.in_(sorted(query.kinds)),
            )
        )
    if query.text:
        conditions.append(table.text.ilike(f"%{_escape_like(query.text)}%", escape="\\"))
    if query.since is not None:
        conditions.append(table.date >= query.since)
    if query.until is not None:
        conditions.append(table.date < query.until)
    if query.before_id is not None:
        conditions.append(table.id < query.before_id)
    return conditions


def detection_item(row: Any) -> dict[str, Any]:
    """A stored detection in the client shape: ``to_view`` plus ``id`` and ``edited``."""
    entry = Entry(
        group=row.group_name,
        chat_id=row.chat_id,
        message_id=row.message_id,
        date=row.date,
        text=row.text,
        matches=tuple(Match(m["kind"], m["value"]) for m in row.matches),
        received_at=row.received_at,
        sender_id=row.sender_id,
        sender=row.sender,
        chat=row.chat,
        edit=bool(row.edited),
    )
    item = to_view(entry, row.stream_id)
    item["id"] = row.id
    item["edited"] = bool(row.edited)
    return item


async def list_detections(
    engine: AsyncEngine, query: DetectionQuery
) -> tuple[list[dict[str, Any]], int | None]:
    """Newest first by row id; returns the items and the id to continue before (or None)."""
    statement = (
        select(Detection.__table__)
        .where(*_conditions(query))
        .order_by(Detection.id.desc())
        .limit(query.limit + 1)
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(statement)).all()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    items = [detection_item(row) for row in rows]
    return items, (rows[-1].id if more and rows else None)


async def detection_totals(engine: AsyncEngine, now: float) -> dict[str, Any]:
    """Counts for the dashboard: all, last hour, by ChatGroup, by match kind (messages)."""
    per_kind = select(Mention.kind, Mention.chat_id, Mention.message_id).distinct().subquery()
    async with engine.connect() as connection:
        total = (await connection.execute(select(func.count()).select_from(Detection))).scalar()
        last_hour = (
            await connection.execute(
                select(func.count()).select_from(Detection).where(Detection.date >= now - 3600)
            )
        ).scalar()
        by_group = (
            await connection.execute(
                select(Detection.group_name, func.count()).group_by(Detection.group_name)
            )
        ).all()
        by_kind = (
            await connection.execute(
                select(per_kind.c.kind, func.count()).group_by(per_kind.c.kind)
            )
        ).all()
    return {
        "detections": int(total or 0),
        "last_hour": int(last_hour or 0),
        "by_group": {name: int(count) for name, count in by_group},
        "by_kind": {kind: int(count) for kind, count in by_kind},
    }


async def hot_addresses(
    engine: AsyncEngine, *, since: float, kinds: Sequence[str], limit: int
) -> list[dict[str, Any]]:
    """Addresses mentioned since ``since``, by distinct chats, then mentions, then recency."""
    chats = func.count(func.distinct(Mention.chat_id)).label("chats")
    mentions = func.count().label("mentions")
    last_seen = func.max(Mention.date).label("last_seen")
    statement = (
        select(
            Mention.kind,
            Mention.value,
            mentions,
            chats,
            func.count(func.distinct(Mention.sender_id)).label("senders"),
            last_seen,
        )
        .where(Mention.date >= since, Mention.kind.in_(list(kinds)))
        .group_by(Mention.kind, Mention.value)
        .order_by(chats.desc(), mentions.desc(), last_seen.desc(), Mention.value)
        .limit(limit)
    )
    async with engine.connect() as connection:
        ranked = (await connection.execute(statement)).all()
        if not ranked:
            return []
        firsts = (
            await connection.execute(
                select(Mention.kind, Mention.value, func.min(Mention.date))
                .where(
                    Mention.value.in_([row.value for row in ranked]),
                    Mention.kind.in_(list(kinds)),
                )
                .group_by(Mention.kind, Mention.value)
            )
        ).all()
    first_seen = {(kind, value): first for kind, value, first in firsts}
    return [
        {
            "kind": row.kind,
            "value": row.value,
            "mentions": int(row.mentions),
            "chats": int(row.chats),
            "senders": int(row.senders),
            "first_seen": first_seen.get((row.kind, row.value), row.last_seen),
            "last_seen": row.last_seen,
        }
        for row in ranked
    ]


async def address_detail(
    engine: AsyncEngine, value: str, *, kind: str | None = None, timeline_limit: int = 200
) -> dict[str, Any] | None:
    """Everything known about one address (or keyword/url), or None if never mentioned.

    When the same value was seen under several kinds and none is given, the most
    mentioned kind is used.  The timeline holds the latest ``timeline_limit``
    mentions, oldest first.
    """
    async with engine.connect() as connection:
        count = func.count().label("n")
        kinds = (
            await connection.execute(
                select(Mention.kind, count, func.min(Mention.date))
                .where(Mention.value == value, *([Mention.kind == kind] if kind else []))
                .group_by(Mention.kind)
                .order_by(count.desc(), Mention.kind)
            )
        ).all()
        if not kinds:
            return None
        chosen, mentions, first_seen = kinds[0]
        scope = (Mention.value == value, Mention.kind == chosen)
        joined = Mention.__table__.outerjoin(
            Detection.__table__,
            and_(Detection.chat_id == Mention.chat_id, Detection.message_id == Mention.message_id),
        )
        chat_first = func.min(Mention.date).label("first_seen")
        sender_first = func.min(Mention.date).label("first_seen")
        chats = (
            await connection.execute(
                select(
                    Mention.chat_id,
                    func.max(Detection.chat).label("chat"),
                    func.max(Mention.group_name).label("group"),
                    chat_first,
                    func.count().label("n"),
                )
                .select_from(joined)
                .where(*scope)
                .group_by(Mention.chat_id)
                .order_by(chat_first, Mention.chat_id)
            )
        ).all()
        senders = (
            await connection.execute(
                select(
                    Mention.sender_id,
                    func.max(Mention.sender).label("sender"),
                    func.count().label("n"),
                    sender_first,
                )
                .where(*scope)
                .group_by(Mention.sender_id)
                .order_by(sender_first)
            )
        ).all()
        timeline = (
            await connection.execute(
                select(
                    Mention.date,
                    Mention.chat_id,
                    Detection.chat,
                    Mention.group_name,
                    Mention.sender_id,
                    Mention.sender,
                    Mention.message_id,
                )
                .select_from(joined)
                .where(*scope)
                .order_by(Mention.date.desc(), Mention.chat_id, Mention.message_id)
                .limit(timeline_limit)
            )
        ).all()
    return {
        "kind": chosen,
        "value": value,
        "first_seen": first_seen,
        "mentions": int(mentions),
        "chats": [
            {
                "chat_id": row.chat_id,
                "chat": row.chat,
                "group": row.group,
                "first_seen": row.first_seen,
                "count": int(row.n),
            }
            for row in chats
        ],
        "senders": [
            {
                "sender_id": row.sender_id,
                "sender": row.sender,
                "count": int(row.n),
                "first_seen": row.first_seen,
            }
            for row in senders
        ],
        "timeline": [
            {
                "date": row.date,
                "chat_id": row.chat_id,
                "chat": row.chat,
                "group": row.group_name,
                "sender_id": row.sender_id,
                "sender": row.sender,
                "message_id": row.message_id,
            }
            for row in reversed(timeline)
        ],
    }


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
