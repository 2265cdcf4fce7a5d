"""The real pipeline behind the browser tests: stream in, consumer on SQLite, uvicorn gateway.

Detections enter where a listener would put them (XADD of contract entries to the stream),
the real ``Consumer`` broadcasts them on the live channel and stores them, and a real
uvicorn server runs ``create_app(settings)``, which serves the page, REST and ``/ws``.
The gateway can be stopped and started again on the same port, as in a rolling restart.
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import uvicorn
from redis.asyncio import Redis

from telesniff import broker, contract
from telesniff.consumer.worker import Consumer
from telesniff.contract import Entry, MatchKind
from telesniff.db.driver import Database
from telesniff.detect import Detector
from telesniff.gateway import create_app
from telesniff.gateway.server import uvicorn_config
from telesniff.listener.demo import DemoSource, evm_address, solana_address
from telesniff.settings import Settings
from tests.factories import detection
from tests.servers import free_port

_rng = random.Random(7)
_message_ids = iter(range(10_000, 10_000_000))


def sol() -> str:
    """A fresh, valid-looking Solana address."""
    return solana_address(_rng)


def evm() -> str:
    return evm_address(_rng)


def call(
    text: str,
    matches: Sequence[tuple[MatchKind, str]],
    *,
    group: str = "alpha",
    chat_id: int = -1001700000001,
    chat: str | None = "Solana Alpha Calls",
    sender_id: int | None = 5100001,
    sender: str | None = "ansem_calls",
    message_id: int | None = None,
    edit: bool = False,
) -> Entry:
    """One stream entry as a listener would write it."""
    return detection(
        group=group,
        chat_id=chat_id,
        chat=chat,
        message_id=next(_message_ids) if message_id is None else message_id,
        sender_id=sender_id,
        sender=sender,
        text=text,
        matches=matches,
        edit=edit,
    )


def demo_calls(count: int, *, seed: int = 11) -> Iterator[Entry]:
    """Realistic detections: the demo source's chat traffic through the real detector."""
    source = DemoSource(rate=1000, seed=seed)
    detector = Detector(keywords=["moon", "rug", "liquidity", "stealth"], patterns=[r"\b\d+m mc\b"])
    groups = ("alpha", "degen", "evm-gems")
    made = 0
    while made < count:
        message = source.next_message()
        matches = detector.scan(message.text)
        if not matches:
            continue
        now = time.time()
        made += 1
        yield Entry(
            group=groups[abs(message.chat_id) % len(groups)],
            chat_id=message.chat_id,
            message_id=message.message_id,
            date=now,
            text=message.text,
            matches=matches,
            received_at=now,
            sender_id=message.sender_id,
            sender=message.sender,
            chat=message.chat,
            edit=message.edit,
        )


class Stack:
    """A consumer and a restartable gateway on their own stream, channel and database."""

    def __init__(self, redis_url: str, directory: Path, **overrides: Any) -> None:
        tag = uuid.uuid4().hex[:8]
        options: dict[str, Any] = {
            "redis_url": redis_url,
            "database_url": f"sqlite+aiosqlite:///{directory / f'browser-{tag}.db'}",
            "data_dir": directory,
            "stream": f"browser:{tag}:messages",
            "live_channel": f"browser:{tag}:live",
            "consumer_group": f"browser-{tag}",
            "dead_letter_stream": f"browser:{tag}:dead",
            "consumer_name": f"browser-consumer-{tag}",
            "flush_interval_ms": 10,
            "host": "127.0.0.1",
            "port": free_port(),
            "log_level": "WARNING",
        }
        options.update(overrides)
        self.settings = Settings(**options)
        self.redis: Redis = broker.connect(redis_url, name="browser-test-producer")
        self._consumer_redis: Redis = broker.connect(redis_url, name="browser-test-consumer")
        self._consumer: Consumer | None = None
        self._consumer_task: asyncio.Task[None] | None = None
        self._server: uvicorn.Server | None = None
        self._server_task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.port}"

    async def start(self) -> None:
        database = Database.from_url(self.settings.database_url_or_default())
        # Before the consumer writes; each gateway start then finds the schema at head.
        await database.ensure_schema()
        self._consumer = Consumer(self._consumer_redis, database, self.settings)
        self._consumer_task = asyncio.create_task(self._consumer.run(), name="browser-consumer")
        await self.start_gateway()

    async def start_gateway(self) -> None:
        """A new gateway process-equivalent (fresh app, hub, connections) on the same port."""
        assert self._server is None, "gateway already running"
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.settings.port))
        app = create_app(self.settings)
        server = uvicorn.Server(uvicorn_config(self.settings, app, log_level="warning"))
        task = asyncio.create_task(server.serve(sockets=[sock]), name="browser-gateway")
        async with asyncio.timeout(20):
            while not server.started:  # uvicorn offers no event for this
                if task.done():
                    task.result()
                    raise RuntimeError("the gateway exited during startup")
                await asyncio.sleep(0.01)
        self._server, self._server_task = server, task

    async def stop_gateway(self) -> None:
        server, task = self._server, self._server_task
        self._server = self._server_task = None
        if server is None or task is None:
            return
        server.should_exit = True
        await asyncio.wait_for(task, 20)

    async def publish(self, entries: Sequence[Entry]) -> list[str]:
        """XADD entries upstream (one pipeline); returns their stream ids."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for item in entries:
                pipe.xadd(self.settings.stream, {contract.FIELD: contract.encode(item)})
            ids = await pipe.execute()
        return [raw.decode() for raw in ids]

    async def wait_stored(self, count: int) -> None:
        """Until the consumer has committed ``count`` entries (REST and the hot view see them).

        The consumer exposes a counter, not an event, so this polls it (bounded by 15 s).
        """
        consumer = self._consumer
        assert consumer is not None
        async with asyncio.timeout(15):
            while consumer.stored < count:  # noqa: ASYNC110 - nothing to wait on but the count
                await asyncio.sleep(0.02)

    async def close(self) -> None:
        await self.stop_gateway()
        if self._consumer is not None and self._consumer_task is not None:
            self._consumer.stop()
            await asyncio.wait_for(self._consumer_task, 20)
        await self.redis.aclose()
        await self._consumer_redis.aclose()
