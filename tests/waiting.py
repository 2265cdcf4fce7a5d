"""Waiting in tests for a state that raises no event of its own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


async def until(
    check: Callable[[], Awaitable[bool]], what: str, within: float = 10, every: float = 0.02
) -> None:
    """Poll ``check`` every ``every`` seconds until it holds; fail naming ``what`` after
    ``within`` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(every)
