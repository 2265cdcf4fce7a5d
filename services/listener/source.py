"""What a message source produces, and the interface every source implements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message as a source saw it, before filtering and detection."""

    chat_id: int
    message_id: int
    date: float
    text: str
    sender_id: int | None = None
    sender: str | None = None
    chat: str | None = None
    edit: bool = False
    # Catch-up after a gap replays history; it must not look like fresh traffic
    # to latency metrics, but it is otherwise the same message.
    backfill: bool = False


Sink = Callable[[Incoming], Awaitable[None]]


class MessageSource(Protocol):
    """Runs until cancelled, handing every message to ``sink`` in the order it arrived."""

    async def run(self, sink: Sink) -> None: ...
