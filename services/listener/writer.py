"""Appends entries to the stream: one at a time when idle, pipelined under load.

Nothing waits to fill a batch.  The writer takes whatever has queued up
while the previous round trip was in flight, so an idle listener sends each
message at once and a busy one sends hundreds per round trip.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from telesniff import contract, keys
from telesniff.contract import Entry
from telesniff.listener import metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Seen:
    """One message the listener has handled; ``entry`` is None when nothing matched."""

    chat_id: int
    message_id: int
    entry: Entry | None
    # An edit can arrive for a message this listener has not seen yet (posted
    # during a gap still being caught up); it must not move the high-water mark
    # past messages that were never fetched.
    edit: bool = False


class StreamWriter:
    def __init__(
        self,
        client: aioredis.Redis,
        *,
        group: str,
        stream: str,
        maxlen: int,
        batch: int = 500,
        queue_size: int = 10_000,
    ) -> None:
        self._client = client
        self._group = group
        self._stream = stream
        self._maxlen = maxlen
        self._batch = batch
        # Bounded, so a stalled Redis slows the source down instead of eating memory.
        self._queue: asyncio.Queue[Seen] = asyncio.Queue(maxsize=queue_size)
        self._high_water: dict[int, int] = {}
        self.appended = 0
        self._append_seconds = metrics.APPEND_SECONDS.labels(group)

    async def put(self, seen: Seen) -> None:
        await self._queue.put(seen)

    async def drain(self) -> None:
        """Wait until everything handed to ``put`` is in Redis."""
        await self._queue.join()

    async def run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            with self._append_seconds.time():
                await self._write_until_done(batch)
            self._count(batch)
            for _ in batch:
                self._queue.task_done()

    async def _write_until_done(self, batch: list[Seen]) -> None:
        delay = 0.05
        while True:
            try:
                await self._write(batch)
                return
            except (RedisConnectionError, RedisTimeoutError, OSError) as error:
                # A retry may append some entries twice; the consumer's upsert is
                # idempotent, so a duplicate is harmless and a loss is not.
                log.warning("stream append failed (%s); retrying in %.2fs", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _write(self, batch: list[Seen]) -> None:
        pipe = self._client.pipeline(transaction=False)
        detections = 0
        advanced: dict[int, int] = {}
        for seen in batch:
            if seen.entry is not None:
                pipe.xadd(
                    self._stream,
                    {contract.FIELD: contract.encode(seen.entry)},
                    maxlen=self._maxlen,
                    approximate=True,
                )
                detections += 1
            mark = max(advanced.get(seen.chat_id, 0), self._high_water.get(seen.chat_id, 0))
            if not seen.edit and seen.message_id > mark:
                advanced[seen.chat_id] = seen.message_id
        if advanced:
            pipe.hset(keys.high_water(self._group), mapping=advanced)  # type: ignore[arg-type]
        stats = keys.group_stats(self._group)
        pipe.hincrby(stats, "messages", len(batch))
        if detections:
            pipe.hincrby(stats, "detections", detections)
        pipe.hset(stats, "last_message_at", repr(time.time()))
        await pipe.execute()
        # Only after the round trip succeeded: a retried batch must write the mark again.
        self._high_water.update(advanced)
        self.appended += detections

    def _count(self, batch: list[Seen]) -> None:
        """Metrics for one appended batch: tallied here, one increment per series touched."""
        group = self._group
        per_chat: Counter[tuple[int, bool]] = Counter()
        per_kind: Counter[str] = Counter()
        for seen in batch:
            per_chat[seen.chat_id, seen.entry is not None] += 1
            if seen.entry is not None:
                per_kind.update(match.kind for match in seen.entry.matches)
        metrics.MESSAGES.labels(group).inc(len(batch))
        for (chat_id, matched), count in per_chat.items():
            metrics.CHAT_MESSAGES.labels(group, str(chat_id), "true" if matched else "false").inc(
                count
            )
        for kind, count in per_kind.items():
            metrics.DETECTIONS.labels(group, kind).inc(count)
        metrics.LAST_MESSAGE.labels(group).set_to_current_time()

    def remember(self, chat_id: int, message_id: int) -> None:
        """Seed the high-water mark (read back from Redis at start)."""
        if message_id > self._high_water.get(chat_id, 0):
            self._high_water[chat_id] = message_id
