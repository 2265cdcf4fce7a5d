"""Process plumbing shared by every command: logging, the event loop, signals, uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import uvicorn


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    # Telethon and the HTTP stack are chatty at INFO; their warnings still show.
    for noisy in ("telethon", "uvicorn.access", "kopf.objects", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.WARNING))


def run(main: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> None:
    """Run ``main(stop)`` on uvloop; SIGINT and SIGTERM set ``stop`` for a clean shutdown.

    A second signal while shutting down exits at once, the way a user
    pressing Ctrl-C twice expects.
    """

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()

        def _on_signal() -> None:
            if stop.is_set() and task is not None:
                task.cancel()
            stop.set()

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, _on_signal)
        await main(stop)

    try:
        import uvloop

        runner: Callable[[Coroutine[Any, Any, None]], None] = uvloop.run
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        runner = asyncio.run
    with contextlib.suppress(asyncio.CancelledError):
        runner(_main())


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
