"""A Telegram listener from settings alone (`telesniff listener`, `telesniff dev`)."""

from __future__ import annotations

import asyncio
import contextlib

import redis.asyncio as aioredis

from telesniff.groupspec import GroupFile
from telesniff.listener.flood import RealClock
from telesniff.listener.telegram.runner import build_source, credentials, run_telegram_listener
from telesniff.listener.telegram.telethon_api import TelethonApi, make_client
from telesniff.listener.writer import StreamWriter
from telesniff.observability import MetricsServer
from telesniff.settings import Settings


async def serve_telegram_group(
    settings: Settings,
    group: GroupFile,
    redis: aioredis.Redis,
    stop: asyncio.Event,
    *,
    serve_health: bool = True,
) -> StreamWriter:
    """Listen to ``group`` on Telegram until ``stop``; with ``serve_health`` and
    ``settings.metrics_port`` set, also serve /healthz and /metrics.

    Raises ListenerError (missing credentials, unresolvable chats, revoked
    session), LeaseHeld (the session is in use) or LeaseLost.
    """
    creds = credentials(settings)
    telegram = make_client(creds.session, creds.api_id, creds.api_hash)
    api = TelethonApi(telegram)
    source = build_source(
        settings=settings, group=group, redis=redis, session=creds.session,
        client=telegram, api=api, clock=RealClock(),
    )  # fmt: skip
    async with contextlib.AsyncExitStack() as stack:
        if serve_health and settings.metrics_port is not None:
            health = MetricsServer(
                lambda: {"group": group.name, **source.status()}, component="listener"
            )
            # All interfaces: kubelet probes and Prometheus scrape the pod IP.  (settings.host
            # is the gateway's address, loopback by default; metrics carry nothing secret.)
            await stack.enter_async_context(health.serve("0.0.0.0", settings.metrics_port))
        return await run_telegram_listener(
            settings=settings, group=group, redis=redis, stop=stop,
            client=telegram, api=api, source=source,
        )  # fmt: skip
