"""Building stream entries for tests."""

from __future__ import annotations

import time

from telesniff.contract import Entry, Match


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
