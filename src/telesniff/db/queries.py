"""Read queries for the gateway: detection history, totals, hot addresses, one address.

Plain SQL over the two tables, run through ``telesniff.db.reader.Reader`` (asyncpg or
aiosqlite, no SQLAlchemy).  Each statement is written once with ``?`` placeholders and
runs on both databases; the only dialect difference is the case-insensitive text
search, kept as SQLAlchemy's ``ilike`` rendered it before: ``ILIKE`` on PostgreSQL,
``lower(text) LIKE lower(?)`` on SQLite (whose ``lower`` folds ASCII letters only).
Lists (``IN``) are expanded to one placeholder per value.  Times are epoch seconds.
"""

# ruff: noqa: S608 - statements are assembled from constant fragments and ``?``
# placeholders only; every value, including each IN-list item, is a bound parameter.

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

from telesniff.contract import Entry, Match, to_view
from telesniff.db.reader import Reader, Row

ADDRESS_KINDS: Final = ("solana", "evm")

_DETECTION_COLUMNS: Final = (
    "id, chat_id, message_id, group_name, chat, sender_id, sender, date, text, matches, "
    "edited, received_at, stream_id"
)
_TEXT_MATCH: Final = {
    "postgresql": "text ILIKE ? ESCAPE '\\'",
    "sqlite": "lower(text) LIKE lower(?) ESCAPE '\\'",
}


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


def _in(column: str, values: Collection[str]) -> str:
    """``column IN (?, …)``, one placeholder per value; false for no values (as SQLAlchemy)."""
    if not values:
        return "1 = 0"  # ``IN ()`` is a syntax error on PostgreSQL
    return f"{column} IN ({', '.join('?' * len(values))})"


def _conditions(query: DetectionQuery, dialect: str) -> tuple[list[str], list[Any]]:
    conditions: list[str] = []
    args: list[Any] = []
    if query.groups is not None:
        groups = sorted(query.groups)
        conditions.append(_in("group_name", groups))
        args += groups
    if query.chat_id is not None:
        conditions.append("chat_id = ?")
        args.append(query.chat_id)
    if query.sender_id is not None:
        conditions.append("sender_id = ?")
        args.append(query.sender_id)
    if query.sender is not None:
        conditions.append("lower(sender) = ?")
        args.append(query.sender.lower())
    if query.kinds is not None:
        kinds = sorted(query.kinds)
        conditions.append(
            "EXISTS (SELECT 1 FROM mentions WHERE mentions.chat_id = detections.chat_id"
            f" AND mentions.message_id = detections.message_id AND {_in('mentions.kind', kinds)})"
        )
        args += kinds
    if query.text:
        conditions.append(_TEXT_MATCH[dialect])
        args.append(f"%{_escape_like(query.text)}%")
    if query.since is not None:
        conditions.append("date >= ?")
        args.append(float(query.since))
    if query.until is not None:
        conditions.append("date < ?")
        args.append(float(query.until))
    if query.before_id is not None:
        conditions.append("id < ?")
        args.append(query.before_id)
    return conditions, args


def detection_item(row: Row) -> dict[str, Any]:
    """A stored detection in the client shape: ``to_view`` plus ``id`` and ``edited``."""
    # A JSON column: asyncpg returns ``json`` as text, SQLite stores text.
    matches = row["matches"]
    if isinstance(matches, str | bytes):
        matches = orjson.loads(matches)
    entry = Entry(
        group=row["group_name"],
        chat_id=row["chat_id"],
        message_id=row["message_id"],
        date=row["date"],
        text=row["text"],
        matches=tuple(Match(m["kind"], m["value"]) for m in matches),
        received_at=row["received_at"],
        sender_id=row["sender_id"],
        sender=row["sender"],
        chat=row["chat"],
        edit=bool(row["edited"]),
    )
    item = to_view(entry, row["stream_id"])
    item["id"] = row["id"]
    item["edited"] = bool(row["edited"])
    return item


async def list_detections(
    reader: Reader, query: DetectionQuery
) -> tuple[list[dict[str, Any]], int | None]:
    """Newest first by row id; returns the items and the id to continue before (or None)."""
    conditions, args = _conditions(query, reader.dialect)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    # One row more than asked says whether there is a next page.
    rows = await reader.fetch(
        f"SELECT {_DETECTION_COLUMNS} FROM detections{where} ORDER BY id DESC LIMIT ?",
        *args,
        query.limit + 1,
    )
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    items = [detection_item(row) for row in rows]
    return items, (rows[-1]["id"] if more and rows else None)


_TOTAL: Final = "SELECT count(*) FROM detections"
_LAST_HOUR: Final = "SELECT count(*) FROM detections WHERE date >= ?"
_BY_GROUP: Final = "SELECT group_name, count(*) FROM detections GROUP BY group_name"
# Messages per kind: a message mentioning two solana addresses counts once.
_BY_KIND: Final = (
    "SELECT kind, count(*) FROM"
    " (SELECT DISTINCT kind, chat_id, message_id FROM mentions) AS per_kind GROUP BY kind"
)


async def detection_totals(reader: Reader, now: float) -> dict[str, Any]:
    """Counts for the dashboard: all, last hour, by ChatGroup, by match kind (messages)."""
    total, last_hour, by_group, by_kind = await reader.fetch_many(
        [(_TOTAL, ()), (_LAST_HOUR, (float(now) - 3600,)), (_BY_GROUP, ()), (_BY_KIND, ())]
    )
    return {
        "detections": int(total[0][0] or 0),
        "last_hour": int(last_hour[0][0] or 0),
        "by_group": {row[0]: int(row[1]) for row in by_group},
        "by_kind": {row[0]: int(row[1]) for row in by_kind},
    }


async def hot_addresses(
    reader: Reader, *, since: float, kinds: Sequence[str], limit: int
) -> list[dict[str, Any]]:
    """Addresses mentioned since ``since``, by distinct chats, then mentions, then recency."""
    kinds = list(kinds)
    ranked = await reader.fetch(
        "SELECT kind, value, count(*) AS mentions, count(DISTINCT chat_id) AS chats,"
        " count(DISTINCT sender_id) AS senders, max(date) AS last_seen"
        f" FROM mentions WHERE date >= ? AND {_in('kind', kinds)}"
        " GROUP BY kind, value"
        " ORDER BY chats DESC, mentions DESC, last_seen DESC, value LIMIT ?",
        float(since),
        *kinds,
        limit,
    )
    if not ranked:
        return []
    # First seen over all time, not only the window.
    values = [row["value"] for row in ranked]
    firsts = await reader.fetch(
        f"SELECT kind, value, min(date) FROM mentions WHERE {_in('value', values)}"
        f" AND {_in('kind', kinds)} GROUP BY kind, value",
        *values,
        *kinds,
    )
    first_seen = {(row[0], row[1]): row[2] for row in firsts}
    return [
        {
            "kind": row["kind"],
            "value": row["value"],
            "mentions": int(row["mentions"]),
            "chats": int(row["chats"]),
            "senders": int(row["senders"]),
            "first_seen": first_seen.get((row["kind"], row["value"]), row["last_seen"]),
            "last_seen": row["last_seen"],
        }
        for row in ranked
    ]


# A mention's message may be gone (nothing deletes detections today, but the join must
# not drop mentions if it ever does): the chat title comes through an outer join.
_JOINED: Final = (
    "mentions AS m LEFT OUTER JOIN detections AS d"
    " ON d.chat_id = m.chat_id AND d.message_id = m.message_id"
)
_SCOPE: Final = "m.value = ? AND m.kind = ?"
_CHATS: Final = (
    'SELECT m.chat_id, max(d.chat) AS chat, max(m.group_name) AS "group",'
    " min(m.date) AS first_seen, count(*) AS n"
    f" FROM {_JOINED} WHERE {_SCOPE} GROUP BY m.chat_id ORDER BY first_seen, m.chat_id"
)
_SENDERS: Final = (
    "SELECT sender_id, max(sender) AS sender, count(*) AS n, min(date) AS first_seen"
    " FROM mentions AS m WHERE " + _SCOPE + " GROUP BY sender_id ORDER BY first_seen"
)
_TIMELINE: Final = (
    "SELECT m.date, m.chat_id, d.chat, m.group_name, m.sender_id, m.sender, m.message_id"
    f" FROM {_JOINED} WHERE {_SCOPE}"
    " ORDER BY m.date DESC, m.chat_id, m.message_id LIMIT ?"
)


async def address_detail(
    reader: Reader, value: str, *, kind: str | None = None, timeline_limit: int = 200
) -> dict[str, Any] | None:
    """Everything known about one address (or keyword/url), or None if never mentioned.

    When the same value was seen under several kinds and none is given, the most
    mentioned kind is used.  The timeline holds the latest ``timeline_limit``
    mentions, oldest first.
    """
    kinds = await reader.fetch(
        "SELECT kind, count(*) AS n, min(date) FROM mentions WHERE value = ?"
        + (" AND kind = ?" if kind else "")
        + " GROUP BY kind ORDER BY n DESC, kind",
        value,
        *([kind] if kind else []),
    )
    if not kinds:
        return None
    chosen, mentions, first_seen = kinds[0][0], kinds[0][1], kinds[0][2]
    scope = (value, chosen)
    chats, senders, timeline = await reader.fetch_many(
        [(_CHATS, scope), (_SENDERS, scope), (_TIMELINE, (*scope, timeline_limit))]
    )
    return {
        "kind": chosen,
        "value": value,
        "first_seen": first_seen,
        "mentions": int(mentions),
        "chats": [
            {
                "chat_id": row["chat_id"],
                "chat": row["chat"],
                "group": row["group"],
                "first_seen": row["first_seen"],
                "count": int(row["n"]),
            }
            for row in chats
        ],
        "senders": [
            {
                "sender_id": row["sender_id"],
                "sender": row["sender"],
                "count": int(row["n"]),
                "first_seen": row["first_seen"],
            }
            for row in senders
        ],
        "timeline": [
            {
                "date": row["date"],
                "chat_id": row["chat_id"],
                "chat": row["chat"],
                "group": row["group_name"],
                "sender_id": row["sender_id"],
                "sender": row["sender"],
                "message_id": row["message_id"],
            }
            for row in reversed(timeline)
        ],
    }


async def ping(reader: Reader) -> None:
    """One round trip to the database (``/readyz``); StoreError when it fails."""
    await reader.fetch("SELECT 1")
