"""uvicorn embedded in a command: the gateway, and ``telesniff dev`` serving it in-process.

Apart from ``telesniff.runtime`` so the processes that serve no HTTP (listener,
consumer) never import uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import uvicorn


class Server(uvicorn.Server):
    """uvicorn without its own signal handling: the command that embeds it owns shutdown.

    ``ready`` is set once the sockets listen, so a caller can announce the URL
    without polling.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.ready.set()

    @property
    def port(self) -> int:
        return int(self.servers[0].sockets[0].getsockname()[1])


async def serve_until(
    server: Server, stop: asyncio.Event, sockets: list[socket.socket] | None = None
) -> None:
    """Serve until ``stop`` is set, then shut down gracefully."""
    serving = asyncio.create_task(server.serve(sockets=sockets))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    stopping.cancel()
    await serving
