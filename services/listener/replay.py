"""``telesniff replay``: a Telegram Desktop export through the live detection and stream path.

``ReplaySource`` is a ``MessageSource`` like the Telegram and demo sources,
so replayed messages are filtered, detected and appended by exactly the code
that handles live traffic.  It ends after the last message; ``run_listener``
then drains the writer, so everything is in the stream when it returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis

from telesniff.groupspec import GroupSpec
from telesniff.listener.flood import Clock, RealClock
from telesniff.listener.service import run_listener
from telesniff.listener.source import Incoming, Sink
from telesniff.settings import Settings


@dataclass
class ReplaySource:
    """``messages`` in order, as fast as possible or at ``rate`` messages per second."""

    messages: Sequence[Incoming]
    rate: float | None = None
    clock: Clock | None = None
    on_message: Callable[[Incoming], None] | None = None  # progress reporting

    async def run(self, sink: Sink) -> None:
        clock = self.clock or RealClock()
        interval = 1.0 / self.rate if self.rate else 0.0
        next_at = clock.monotonic()
        for message in self.messages:
            if interval:
                # Pace against a schedule, not per message, so slow appends don't drift the rate.
                now = clock.monotonic()
                if next_at > now:
                    await clock.sleep(next_at - now)
                next_at += interval
            await sink(message)
            if self.on_message is not None:
                self.on_message(message)


@dataclass(frozen=True)
class ReplayResult:
    messages: int
    appended: int


async def replay(
    client: aioredis.Redis,
    settings: Settings,
    group: str,
    spec: GroupSpec,
    source: ReplaySource,
    stop: asyncio.Event | None = None,
) -> ReplayResult:
    """Run the source to its end (or ``stop``) through the listener pipeline; everything
    handed over is appended on return."""
    counted = _Counter(source)
    writer = await run_listener(client, settings, group, spec, counted, stop or asyncio.Event())
    return ReplayResult(messages=counted.count, appended=writer.appended)


@dataclass
class _Counter:
    """Counts what the source actually handed over (less than all of it after a stop)."""

    source: ReplaySource
    count: int = 0

    async def run(self, sink: Sink) -> None:
        async def counting(message: Incoming) -> None:
            await sink(message)
            self.count += 1

        await self.source.run(counting)
