"""A Telegram listener on real Redis, a real (unconnected) TelegramClient and a scripted API."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis.asyncio as aioredis

from telesniff.groupspec import GroupFile, GroupSpec
from telesniff.listener.flood import Backoff
from telesniff.listener.telegram.runner import build_source, run_telegram_listener
from telesniff.listener.telegram.source import TelegramSource
from telesniff.listener.writer import StreamWriter
from telesniff.settings import Settings
from tests.listener.harness import (
    FakeClock,
    FakeTelegram,
    make_session,
    never,
    settings,
    telegram_client,
)

_groups = itertools.count(1)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """CLI commands configure logging for the process (handlers on stderr, quiet libraries);
    put it back so one test's CliRunner stream does not leak into the next test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, saved in levels.items():
        logging.getLogger(name).setLevel(saved)


@dataclass
class Rig:
    redis: aioredis.Redis
    group: GroupFile
    settings: Settings
    session: str
    api: FakeTelegram
    clock: FakeClock = field(default_factory=FakeClock)
    source: TelegramSource | None = None
    task: asyncio.Task[StreamWriter] | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def start(self, lease_sleep: Callable[[float], Awaitable[None]] = never) -> None:
        """Start a listener process (again): a fresh client on the same session."""
        assert self.task is None or self.task.done()
        self.api.client = telegram_client(self.session)
        self.stop = asyncio.Event()
        self.source = build_source(
            settings=self.settings, group=self.group, redis=self.redis, session=self.session,
            client=self.api.client, api=self.api, clock=self.clock, backoff=Backoff(1, 60),
        )  # fmt: skip
        self.task = asyncio.create_task(
            run_telegram_listener(
                settings=self.settings,
                group=self.group,
                redis=self.redis,
                stop=self.stop,
                client=self.api.client,
                api=self.api,
                source=self.source,
                lease_sleep=lease_sleep,
            )
        )

    async def live(self) -> None:
        """Wait until every chat is caught up and live updates flow."""
        deadline = asyncio.get_running_loop().time() + 10
        while not (self.source is not None and self.source.caught_up):
            assert self.task is not None
            if self.task.done():
                self.task.result()
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("the listener did not get live")
            await asyncio.sleep(0.005)

    async def halt(self) -> StreamWriter:
        """SIGTERM: stop, and wait until everything received is appended."""
        assert self.task is not None
        self.stop.set()
        return await asyncio.wait_for(self.task, 10)


@pytest.fixture
async def rig(redis: aioredis.Redis) -> AsyncIterator[Any]:
    rigs: list[Rig] = []

    def make(spec: GroupSpec, **overrides: Any) -> Rig:
        session = make_session()
        name = f"tg-{next(_groups)}"
        made = Rig(
            redis=redis, group=GroupFile(name, spec), settings=settings(session, **overrides),
            session=session, api=FakeTelegram(client=None),
        )  # fmt: skip
        rigs.append(made)
        return made

    yield make
    for made in rigs:
        if made.task is not None and not made.task.done():
            made.stop.set()
            await asyncio.gather(made.task, return_exceptions=True)
