"""Process plumbing shared by every command: logging, the event loop, signals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from telesniff import memory


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


def run(
    main: Callable[[asyncio.Event], Coroutine[Any, Any, None]],
    *,
    trim_every_s: float = memory.TRIM_EVERY_S,
) -> None:
    """Run ``main(stop)`` on uvloop; SIGINT and SIGTERM set ``stop`` for a clean shutdown.

    A second signal while shutting down exits at once, the way a user
    pressing Ctrl-C twice expects.  Meanwhile the heap is trimmed every
    ``trim_every_s`` (see ``telesniff.memory``).
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
        trimming = asyncio.create_task(memory.keep_trimmed(trim_every_s), name="memory-trim")
        try:
            await main(stop)
        finally:
            trimming.cancel()

    memory.return_large_buffers_to_the_os()
    try:
        import uvloop

        runner: Callable[[Coroutine[Any, Any, None]], None] = uvloop.run
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        runner = asyncio.run
    with contextlib.suppress(asyncio.CancelledError):
        runner(_main())
