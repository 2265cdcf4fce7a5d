"""Runs one ChatGroup's listener: a source feeding detection and the stream writer."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio as aioredis

from telesniff import keys
from telesniff.detect import Detector
from telesniff.groupspec import GroupSpec
from telesniff.listener import metrics
from telesniff.listener.pipeline import Listener
from telesniff.listener.source import MessageSource
from telesniff.listener.writer import StreamWriter
from telesniff.settings import Settings

log = logging.getLogger(__name__)


async def load_high_water(client: aioredis.Redis, group: str) -> dict[int, int]:
    """The last message id handled per chat, as the previous run left it."""
    stored = await client.hgetall(keys.high_water(group))
    return {int(chat): int(message) for chat, message in stored.items()}


async def run_listener(
    client: aioredis.Redis,
    settings: Settings,
    group: str,
    spec: GroupSpec,
    source: MessageSource,
    stop: asyncio.Event,
) -> StreamWriter:
    """Run until ``stop`` is set; everything received by then is in the stream on return."""
    writer = StreamWriter.for_group(client, settings, group)
    for chat_id, message_id in (await load_high_water(client, group)).items():
        writer.remember(chat_id, message_id)
    listener = Listener(group, Detector.from_spec(spec), writer)
    metrics.init_group(group)
    # A source without a connection of its own (the demo) is "connected" while it runs.
    own_state = not getattr(source, "reports_connection", False)
    if own_state:
        metrics.CONNECTED.labels(group).set(1)
    writing = asyncio.create_task(writer.run(), name=f"writer-{group}")
    reading = asyncio.create_task(source.run(listener), name=f"source-{group}")
    stopping = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if reading in done:
            reading.result()  # a source that ends on its own has failed or finished
    finally:
        if own_state:
            metrics.CONNECTED.labels(group).set(0)
        for task in (reading, stopping):
            task.cancel()
        await asyncio.gather(reading, stopping, return_exceptions=True)
        # What the source handed over is flushed before the process goes.
        await writer.drain()
        writing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writing
    log.info("listener %s stopped after appending %d entries", group, writer.appended)
    return writer
