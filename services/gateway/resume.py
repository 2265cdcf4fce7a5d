"""Reading the stream for WebSocket clients: newest id, gap detection, replay in chunks.

All reads go through one ``StreamReader`` per gateway, which bounds how many run at
once: a hundred clients reconnecting together must not exhaust the Redis connection
pool (redis-py raises "Too many connections" instead of waiting).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Final

from redis.asyncio import Redis

from telesniff.gateway.filters import Filter
from telesniff.gateway.frames import Frame, StreamKey, admits, item_from_stream, parse_stream_id

CHUNK: Final = 1000
CONCURRENT_READS: Final = 16


def format_stream_id(key: StreamKey) -> str:
    return f"{key[0]}-{key[1]}"


def _id(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class StreamReader:
    def __init__(self, redis: Redis, stream: str, concurrency: int = CONCURRENT_READS) -> None:
        self.redis = redis
        self.stream = stream
        self._slots = asyncio.Semaphore(concurrency)

    async def newest_id(self) -> str | None:
        async with self._slots:
            rows = await self.redis.xrevrange(self.stream, count=1)
        return _id(rows[0][0]) if rows else None

    async def gap_before(self, after: StreamKey) -> str | None:
        """The oldest retained id when the cursor is older than it (entries may be trimmed).

        Redis does not record what trimming removed, so this is conservative: a cursor
        older than the oldest retained entry always gets the notice.
        """
        async with self._slots:
            rows = await self.redis.xrange(self.stream, count=1)
        if not rows:
            return None
        oldest = _id(rows[0][0])
        return oldest if after < parse_stream_id(oldest) else None

    async def replay(
        self,
        start: str,
        rule: Filter,
        send: Callable[[Frame], Awaitable[None]],
        chunk: int = CHUNK,
    ) -> str:
        """Send the entries after ``start`` that ``rule`` admits, one frame per chunk.

        Entries that cannot be decoded are skipped.  Returns the last id read (sent or
        not): everything up to it has been considered, the resume watermark.
        """
        position = start
        while True:
            async with self._slots:
                rows = await self.redis.xrange(
                    self.stream, min=f"({position}", max="+", count=chunk
                )
            if not rows:
                return position
            position = _id(rows[-1][0])
            items = [
                item
                for stream_id, fields in rows
                if (item := item_from_stream(stream_id, fields)) is not None and admits(rule, item)
            ]
            if items:
                await send(Frame(items))
            if len(rows) < chunk:
                return position
