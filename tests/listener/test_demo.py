"""The demo source (``telesniff dev`` without a session) still runs through the same path."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from telesniff.groupspec import GroupSpec
from telesniff.listener.demo import DemoSource
from telesniff.listener.service import run_listener
from telesniff.settings import Settings
from tests.listener.harness import high_water, stream_entries
from tests.waiting import until


async def test_demo_source_through_run_listener(redis: aioredis.Redis) -> None:
    settings = Settings()
    stop = asyncio.Event()
    source = DemoSource(rate=5000, seed=7)
    running = asyncio.create_task(
        run_listener(redis, settings, "demo-test", GroupSpec(chats=["@demo"]), source, stop)
    )

    async def enough() -> bool:
        return await redis.xlen(settings.stream) >= 50

    await until(enough, "50 demo detections")
    stop.set()
    writer = await asyncio.wait_for(running, 10)
    entries = await stream_entries(redis, settings.stream)
    assert len(entries) == writer.appended
    assert all(e.group == "demo-test" and e.matches for e in entries)
    marks = await high_water(redis, "demo-test")
    assert set(marks) <= {chat_id for chat_id, _ in source.chats}
    assert marks  # the demo chats' marks advance like real ones
