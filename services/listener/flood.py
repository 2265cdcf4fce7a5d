"""Being polite to Telegram: FloodWait, paced calls and reconnect backoff.

Telegram answers too many requests with FLOOD_WAIT_X and bans accounts that
keep going.  Every request the listener makes goes through ``FloodGuard``:
it waits exactly the seconds Telegram asks for (exposed as a metric and a
log line while it waits) and then retries, so nothing is skipped.  Time is
injected (``Clock``) so tests can check the waits without sleeping.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from telethon import errors

from telesniff.listener import metrics

log = logging.getLogger(__name__)

T = TypeVar("T")


class Clock(Protocol):
    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class RealClock:
    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def flood_seconds(error: BaseException) -> int | None:
    """The wait Telegram asks for, when ``error`` is a flood error carrying one."""
    if isinstance(error, errors.FloodWaitError | errors.FloodPremiumWaitError):
        return max(0, int(error.seconds))
    return None


@dataclass
class FloodGuard:
    """Runs Telegram requests for one group, waiting out every FLOOD_WAIT."""

    group: str
    clock: Clock = field(default_factory=RealClock)
    waiting: bool = field(default=False, init=False)  # for /healthz

    async def call(self, what: str, request: Callable[[], Awaitable[T]]) -> T:
        while True:
            try:
                return await request()
            except (errors.FloodWaitError, errors.FloodPremiumWaitError) as error:
                seconds = flood_seconds(error) or 0
            # ``what`` is written by our code ("history of chat -100…"), never user input.
            log.warning("Telegram asked to wait %ds (FLOOD_WAIT) before %s; waiting", seconds, what)
            self.waiting = True
            # Counted when the wait starts, so a dashboard shows an hour-long wait at once.
            metrics.FLOODWAIT_SECONDS.labels(self.group).inc(seconds)
            metrics.FLOODWAIT_ACTIVE.labels(self.group).set(1)
            try:
                await self.clock.sleep(seconds)
            finally:
                self.waiting = False
                metrics.FLOODWAIT_ACTIVE.labels(self.group).set(0)
            log.info("FLOOD_WAIT of %ds over; retrying %s", seconds, what)


@dataclass
class Pacer:
    """At most one call per ``interval`` seconds, so start-up never bursts."""

    interval: float
    clock: Clock = field(default_factory=RealClock)
    _next: float | None = field(default=None, init=False)

    async def wait(self) -> None:
        now = self.clock.monotonic()
        if self._next is not None and now < self._next:
            await self.clock.sleep(self._next - now)
            now = self.clock.monotonic()
        self._next = now + self.interval


@dataclass
class Backoff:
    """Exponential delays for reconnecting: initial, doubled each failure, capped."""

    initial: float = 1.0
    maximum: float = 60.0
    _attempt: int = field(default=0, init=False)

    def next_delay(self) -> float:
        delay = min(self.maximum, self.initial * 2.0**self._attempt)
        self._attempt += 1
        return delay

    def reset(self) -> None:
        self._attempt = 0
