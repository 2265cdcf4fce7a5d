"""One ChatGroup's Telegram listener, from a validated spec to a clean stop.

Order matters: the session lease is taken before anything talks to Telegram
(a session used twice is revoked), and on the way out the source stops
receiving, everything received is appended, and only then is the lease
released.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from telesniff import keys
from telesniff.groupspec import GroupFile
from telesniff.listener import redact
from telesniff.listener.flood import Backoff, Clock, FloodGuard, Pacer, RealClock
from telesniff.listener.lease import SessionLease
from telesniff.listener.service import run_listener
from telesniff.listener.telegram.api import ListenerError, TelegramApi
from telesniff.listener.telegram.marks import MarkStore
from telesniff.listener.telegram.resolve import Resolver
from telesniff.listener.telegram.source import TelegramSource
from telesniff.listener.writer import StreamWriter
from telesniff.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credentials:
    session: str
    api_id: int
    api_hash: str


def credentials(settings: Settings) -> Credentials:
    """The Telegram credentials from settings, or a ListenerError naming what is missing."""
    missing = [
        f"TELESNIFF_{name.upper()}"
        for name in ("telegram_session", "telegram_api_id", "telegram_api_hash")
        if getattr(settings, name) is None
    ]
    if missing:
        raise ListenerError(
            f"no Telegram credentials: {', '.join(missing)} not set (as environment variables "
            "or files in the secrets directory); create a session with `telesniff login`"
        )
    assert settings.telegram_session is not None
    assert settings.telegram_api_hash is not None
    assert settings.telegram_api_id is not None
    return Credentials(
        settings.telegram_session.get_secret_value(),
        settings.telegram_api_id,
        settings.telegram_api_hash.get_secret_value(),
    )


def build_source(
    *,
    settings: Settings,
    group: GroupFile,
    redis: aioredis.Redis,
    session: str,
    client: Any,
    api: TelegramApi,
    clock: Clock,
    resolve_interval: float = 1.0,
    history_interval: float = 0.2,
    backoff: Backoff | None = None,
) -> TelegramSource:
    guard = FloodGuard(group.name, clock)
    resolver = Resolver(
        api=api,
        redis=redis,
        cache_key=keys.session_peers(session),
        guard=guard,
        pacer=Pacer(resolve_interval, clock),
    )
    return TelegramSource(
        client=client,
        api=api,
        chats=group.spec.chats,
        resolver=resolver,
        marks=MarkStore(redis, group.name),
        guard=guard,
        catch_up_limit=settings.catch_up_limit,
        clock=clock,
        backoff=backoff,
        history_pacer=Pacer(history_interval, clock),
    )


async def run_telegram_listener(
    *,
    settings: Settings,
    group: GroupFile,
    redis: aioredis.Redis,
    stop: asyncio.Event,
    client: Any,
    api: TelegramApi,
    clock: Clock | None = None,
    source: TelegramSource | None = None,
    lease_sleep: Callable[[float], Awaitable[None]] | None = None,
) -> StreamWriter:
    """Run until ``stop``; raise LeaseHeld before connecting if the session is in use,
    LeaseLost if it is taken over while running, ListenerError for fatal problems."""
    creds = credentials(settings)
    redact.install([creds.session, creds.api_hash])
    lease = SessionLease(redis, creds.session, group=group.name, ttl_s=settings.lease_ttl_s)
    await lease.acquire()
    if source is None:
        source = build_source(
            settings=settings, group=group, redis=redis, session=creds.session,
            client=client, api=api, clock=clock or RealClock(),
        )  # fmt: skip
    keeping = asyncio.create_task(lease.keep(lease_sleep or asyncio.sleep), name="lease")
    inner_stop = asyncio.Event()
    running = asyncio.create_task(
        run_listener(redis, settings, group.name, group.spec, source, inner_stop),
        name=f"listener-{group.name}",
    )
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({running, keeping, stopping}, return_when=asyncio.FIRST_COMPLETED)
        inner_stop.set()
        writer = await running
        if keeping.done() and not keeping.cancelled():
            error = keeping.exception()
            if error is not None:
                raise error  # LeaseLost: the listener stopped because the fence broke
        return writer
    finally:
        inner_stop.set()
        for task in (keeping, stopping):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(keeping, stopping, return_exceptions=True)
        if not running.done():
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
        await lease.release()
