"""Building stream entries for tests."""

from __future__ import annotations

import time
from collections.abc import Sequence

from telesniff.contract import Entry, Match, MatchKind


def detection(
    *,
    group: str,
    chat_id: int,
    chat: str | None,
    message_id: int,
    sender_id: int | None,
    sender: str | None,
    text: str,
    matches: Sequence[tuple[MatchKind, str]],
    date: float | None = None,
    edit: bool = False,
) -> Entry:
    """An entry as a listener writes it, received now (and posted now unless ``date``)."""
    now = time.time()
    return Entry(
        group=group,
        chat_id=chat_id,
        message_id=message_id,
        date=now if date is None else date,
        text=text,
        matches=tuple(Match(kind, value) for kind, value in matches),
        received_at=now,
        sender_id=sender_id,
        sender=sender,
        chat=chat,
        edit=edit,
    )


def entry(
    message_id: int,
    *,
    chat_id: int = -1001,
    group: str = "alpha",
    text: str | None = None,
    edit: bool = False,
    received_at: float | None = None,
    matches: tuple[Match, ...] | None = None,
    sender: str | None = "caller",
) -> Entry:
    now = time.time()
    return Entry(
        group=group,
        chat_id=chat_id,
        message_id=message_id,
        date=now,
        text=text if text is not None else f"call {message_id}",
        matches=matches if matches is not None else (Match("solana", f"So1ana{message_id:038d}"),),
        received_at=received_at if received_at is not None else now,
        sender_id=42,
        sender=sender,
        chat="Alpha Calls",
        edit=edit,
    )
