"""Consumers as real processes: killed mid-batch with SIGKILL, or stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import cast

import orjson
import redis.asyncio as aioredis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from telesniff import contract
from telesniff.db.models import Detection
from telesniff.settings import Settings
from tests.factories import entry
from tests.waiting import until

MESSAGES = 300
DEFAULTS = Settings()


def start_consumer(
    redis_url: str, database_url: str, name: str, **env: str
) -> subprocess.Popen[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TELESNIFF_")}
    environment |= {
        "TELESNIFF_REDIS_URL": redis_url,
        "TELESNIFF_DATABASE_URL": database_url,
        "TELESNIFF_CONSUMER_NAME": name,
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "telesniff", "consumer"],
        env=environment, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


async def stored(engine: AsyncEngine) -> tuple[int, int]:
    """(rows, distinct (chat, message) keys)."""
    async with engine.connect() as connection:
        rows = (await connection.execute(select(func.count()).select_from(Detection))).scalar_one()
        keys = select(Detection.chat_id, Detection.message_id).distinct().subquery()
        distinct = (await connection.execute(select(func.count()).select_from(keys))).scalar_one()
    return int(rows), int(distinct)


async def pending(redis: aioredis.Redis) -> int:
    summary = await redis.xpending(DEFAULTS.stream, DEFAULTS.consumer_group)
    return int(summary["pending"])


@contextlib.asynccontextmanager
async def appended_and_watched(redis: aioredis.Redis, count: int) -> AsyncIterator[list[str]]:
    """Append ``count`` entries; yields the stream ids broadcast on the live channel."""
    pubsub = redis.pubsub()
    await pubsub.subscribe(DEFAULTS.live_channel)
    seen: list[str] = []
    listening = asyncio.create_task(collect_broadcasts(pubsub, seen))
    try:
        for message_id in range(1, count + 1):
            await redis.xadd(DEFAULTS.stream, {contract.FIELD: contract.encode(entry(message_id))})
        yield seen
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        await pubsub.aclose()


async def collect_broadcasts(pubsub: aioredis.client.PubSub, seen: list[str]) -> None:
    async for message in pubsub.listen():
        if message["type"] == "message":
            seen.extend(pair[0] for pair in orjson.loads(message["data"]))


async def test_sigkill_mid_batch_loses_nothing_and_stores_each_message_once(
    redis: aioredis.Redis, engine: AsyncEngine, redis_url: str, database_url: str
) -> None:
    async with appended_and_watched(redis, MESSAGES) as seen:
        await _sigkill_then_claim(redis, engine, redis_url, database_url, seen)
    assert await stored(engine) == (MESSAGES, MESSAGES)
    records = cast(list[tuple[bytes, dict[bytes, bytes]]], await redis.xrange(DEFAULTS.stream))
    stream_ids = {record_id.decode() for record_id, _fields in records}
    assert stream_ids <= set(seen)  # every message broadcast at least once
    assert len(seen) >= 2 * MESSAGES  # once by the victim, again by the survivor's claim


async def _sigkill_then_claim(
    redis: aioredis.Redis, engine: AsyncEngine, redis_url: str, database_url: str, seen: list[str]
) -> None:
    # A batch that would only be flushed a minute from now: the victim dies holding it.
    victim = start_consumer(
        redis_url, database_url, "victim",
        TELESNIFF_BATCH_SIZE="5000", TELESNIFF_FLUSH_INTERVAL_MS="60000",
    )  # fmt: skip
    try:
        await until(lambda: _at_least(seen, MESSAGES), "the victim's broadcast", within=60)
        assert await stored(engine) == (0, 0)  # read and broadcast, not yet stored
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
    assert await pending(redis) == MESSAGES  # nothing was acknowledged

    survivor = start_consumer(
        redis_url, database_url, "survivor",
        TELESNIFF_CLAIM_IDLE_MS="1000", TELESNIFF_CLAIM_EVERY_S="0.2",
    )  # fmt: skip
    try:
        await until(
            lambda: _stored_is(engine, MESSAGES), "the survivor storing the batch", within=60
        )
        await until(lambda: _pending_is(redis, 0), "every entry acknowledged", within=60)
    finally:
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(20) == 0, survivor.communicate()[1]


async def test_sigterm_flushes_what_was_read_and_exits_cleanly(
    redis: aioredis.Redis, engine: AsyncEngine, redis_url: str, database_url: str
) -> None:
    async with appended_and_watched(redis, 100) as seen:
        consumer = start_consumer(
            redis_url, database_url, "graceful",
            TELESNIFF_BATCH_SIZE="5000", TELESNIFF_FLUSH_INTERVAL_MS="60000",
        )  # fmt: skip
        try:
            await until(lambda: _at_least(seen, 100), "the broadcast", within=60)
            assert await stored(engine) == (0, 0)
        finally:
            consumer.send_signal(signal.SIGTERM)
            returncode = consumer.wait(30)
    assert returncode == 0, consumer.communicate()[1]
    assert await stored(engine) == (100, 100)
    assert await pending(redis) == 0


async def _at_least(seen: list[str], count: int) -> bool:
    return len(seen) >= count


async def _stored_is(engine: AsyncEngine, count: int) -> bool:
    return (await stored(engine))[0] == count


async def _pending_is(redis: aioredis.Redis, count: int) -> bool:
    return await pending(redis) == count
