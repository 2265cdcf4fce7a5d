"""The stream writer's high-water marks and metrics."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from prometheus_client import REGISTRY

from telesniff.listener.writer import Seen, StreamWriter
from tests.factories import entry
from tests.listener.harness import high_water


async def test_edits_never_move_the_mark_and_metrics_count(redis: aioredis.Redis) -> None:
    writer = StreamWriter(redis, group="writer-test", stream="s", maxlen=1000)
    running = asyncio.create_task(writer.run())
    before = (
        REGISTRY.get_sample_value(
            "telesniff_listener_detections_total", {"group": "writer-test", "kind": "solana"}
        )
        or 0.0
    )
    await writer.put(Seen(-1001, 5, entry(5)))
    await writer.put(Seen(-1001, 6, None))
    # An edit of a message not seen yet (posted during a gap): the mark stays at 6.
    await writer.put(Seen(-1001, 9, entry(9, edit=True), edit=True))
    await writer.drain()
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    assert await high_water(redis, "writer-test") == {-1001: 6}
    assert await redis.xlen("s") == 2
    after = REGISTRY.get_sample_value(
        "telesniff_listener_detections_total", {"group": "writer-test", "kind": "solana"}
    )
    assert after == before + 2
    last = REGISTRY.get_sample_value(
        "telesniff_listener_last_message_timestamp_seconds", {"group": "writer-test"}
    )
    assert last is not None
    assert last > 0
