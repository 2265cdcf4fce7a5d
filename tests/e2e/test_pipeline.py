"""End to end: demo source → listener → stream → consumer → database, live on a real gateway."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import cast

import httpx
import orjson
import pytest
import redis.asyncio as aioredis
import websockets
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from telesniff import serving
from telesniff.consumer.worker import Consumer
from telesniff.db.driver import Database
from telesniff.db.models import Detection
from telesniff.db.reader import Reader
from telesniff.gateway.app import create_app
from telesniff.gateway.server import uvicorn_config
from telesniff.groupspec import GroupSpec
from telesniff.listener.demo import DemoSource
from telesniff.listener.service import run_listener
from telesniff.listener.source import Incoming, Sink
from telesniff.settings import Settings
from tests.servers import free_port

MESSAGES = 600


class FiniteDemo:
    """The demo source's traffic, a fixed number of messages, as fast as the sink takes them."""

    def __init__(self, count: int) -> None:
        demo = DemoSource(rate=1.0, seed=7, call_share=0.6)
        self.messages = [demo.next_message() for _ in range(count)]

    async def run(self, sink: Sink) -> None:
        for message in self.messages:
            await sink(message)


@pytest.fixture
async def gateway(
    redis: aioredis.Redis, database: Database, redis_url: str
) -> AsyncIterator[tuple[str, Settings]]:
    settings = Settings(
        redis_url=redis_url, port=free_port(), consumer_name="e2e", client_queue=10_000
    )
    # The gateway reads the test's (parametrised) database, not the settings' default.
    reader = Reader(database)
    app = create_app(settings, redis=redis, database=reader)
    server = serving.Server(uvicorn_config(settings, app, loop="none", log_level="warning"))
    stop = asyncio.Event()
    gateway_task = asyncio.create_task(serving.serve_until(server, stop))
    await asyncio.wait_for(server.ready.wait(), 30)
    yield f"127.0.0.1:{settings.port}", settings
    stop.set()
    await gateway_task
    await reader.close()


async def test_every_detection_reaches_the_websocket_once_and_the_database(
    redis: aioredis.Redis,
    engine: AsyncEngine,
    database: Database,
    gateway: tuple[str, Settings],
) -> None:
    address, settings = gateway
    consumer = Consumer(redis, database, settings)
    consuming = asyncio.create_task(consumer.run())
    source = FiniteDemo(MESSAGES)
    async with websockets.connect(f"ws://{address}/ws") as client:
        hello = orjson.loads(await client.recv())
        assert hello["type"] == "hello"
        writer = await run_listener(
            redis, settings, "e2e", GroupSpec(chats=[1]), source, asyncio.Event()
        )
        expected = await redis.xlen(settings.stream)
        assert expected == writer.appended > MESSAGES // 4  # the demo posts plenty of calls
        received: list[dict[str, object]] = []
        while len(received) < expected:
            frame = orjson.loads(await asyncio.wait_for(client.recv(), 10))
            if frame["type"] == "detections":
                received.extend(frame["items"])
    cursors = [item["cursor"] for item in received]
    assert len(cursors) == len(set(cursors)) == expected
    records = cast(list[tuple[bytes, dict[bytes, bytes]]], await redis.xrange(settings.stream))
    stream_ids = [entry_id.decode() for entry_id, _ in records]
    assert sorted(map(str, cursors)) == sorted(stream_ids)

    distinct = {(m.chat_id, m.message_id) for m in source.messages if _matched(m, received)}
    deadline = asyncio.get_running_loop().time() + 15
    while await _count(engine) < len(distinct):
        assert asyncio.get_running_loop().time() < deadline, "not everything was stored"
        await asyncio.sleep(0.02)
    assert await _count(engine) == len(distinct)

    consumer.stop()
    await consuming
    async with httpx.AsyncClient(base_url=f"http://{address}") as http:
        items: list[dict[str, object]] = []
        url: str | None = "/api/detections?limit=100"
        while url:
            page = (await http.get(url)).json()
            items.extend(page["items"])
            url = f"/api/detections?limit=100&cursor={page['next']}" if page["next"] else None
    assert {(item["chat_id"], item["message_id"]) for item in items} == distinct
    assert len(items) == len(distinct)


def _matched(message: Incoming, received: list[dict[str, object]]) -> bool:
    return any(
        item["chat_id"] == message.chat_id and item["message_id"] == message.message_id
        for item in received
    )


async def _count(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(
            (await connection.execute(select(func.count()).select_from(Detection))).scalar_one()
        )
