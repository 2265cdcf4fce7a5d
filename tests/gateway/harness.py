"""A real uvicorn gateway on a loopback socket, and a restartable redis-server, for tests."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from telesniff import broker
from telesniff.db.driver import Database
from telesniff.gateway import create_app
from telesniff.gateway.server import uvicorn_config
from telesniff.settings import Settings
from tests.servers import free_port


class RedisProcess:
    """A ``redis-server`` on a fixed loopback port, without persistence; stop and start again."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install -y redis-server)")
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                with SyncRedis.from_url(self.url, socket_timeout=1) as client:
                    client.ping()
                return
            except Exception:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


@dataclass
class RunningGateway:
    settings: Settings
    app: FastAPI
    redis: Redis
    port: int

    @property
    def database(self) -> Database:
        """The gateway's database (the gateway opens its own read connections)."""
        return Database.from_url(self.settings.database_url_or_default())

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, **params: str) -> str:
        query = "&".join(f"{key}={value}" for key, value in params.items())
        return f"ws://127.0.0.1:{self.port}/ws" + (f"?{query}" if query else "")


GatewayFactory = Callable[..., AbstractAsyncContextManager[RunningGateway]]


@asynccontextmanager
async def serving(
    app: FastAPI, settings: Settings, sock: socket.socket, **uvicorn_options: Any
) -> AsyncIterator[None]:
    """Serve ``app`` with uvicorn on ``sock`` until the block ends."""
    server = uvicorn.Server(uvicorn_config(settings, app, log_level="warning", **uvicorn_options))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(20):
            while not server.started:  # uvicorn offers no event for this
                if task.done():
                    task.result()
                    raise RuntimeError("uvicorn exited during startup")
                await asyncio.sleep(0.01)
        yield
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 20)


def gateway_factory(redis_url: str, directory: Path) -> GatewayFactory:
    """``async with factory(**settings) as gw``: a gateway on its own stream, channel and DB.

    ``ws=`` picks uvicorn's WebSocket protocol instead of the gateway's (e.g.
    ``"websockets-sansio"``: no raw writer, the ASGI send path).
    """

    @asynccontextmanager
    async def start(ws: str | None = None, **overrides: Any) -> AsyncIterator[RunningGateway]:
        tag = uuid.uuid4().hex[:8]
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        options: dict[str, Any] = {
            "redis_url": redis_url,
            "database_url": f"sqlite+aiosqlite:///{directory / f'gw-{tag}.db'}",
            "data_dir": directory,
            "stream": f"test:{tag}:messages",
            "live_channel": f"test:{tag}:live",
            "consumer_group": f"test-{tag}",
            "host": "127.0.0.1",
            "port": sock.getsockname()[1],
            "log_level": "WARNING",
        }
        options.update(overrides)
        settings = Settings(**options)
        redis = broker.connect(str(settings.redis_url), name=f"gateway-test-{tag}")
        try:
            app = create_app(settings, redis=redis)
            async with serving(app, settings, sock, **({"ws": ws} if ws else {})):
                yield RunningGateway(settings, app, redis, settings.port)
        finally:
            await redis.aclose()
            sock.close()

    return start
