"""Appends entries to the stream: one at a time when idle, a batch per round trip under load.

Nothing waits to fill a batch.  The writer takes whatever has queued up
while the previous round trip was in flight, so an idle listener sends each
message at once and a busy one sends hundreds per round trip.

A batch is one call of a server-side Lua script (``EVALSHA``) that does every
``XADD`` and the group's bookkeeping, sent pre-packed on a connection the
writer owns.  redis-py's pipeline packed, sent and parsed each command in
Python and took a pooled connection per batch: that was 40 % of the
listener's CPU at full speed, and most of it when idle (five commands and a
pool checkout for every single message).  redis-py's per-call socket timeouts
(a task per send, a timer per read) cost an idle listener another 20-30 µs a
message, so the writer's connection has none and a watchdog drops a call that
waits too long instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import Final, NamedTuple

import hiredis
import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from telesniff import contract, keys
from telesniff.contract import Entry
from telesniff.listener import metrics
from telesniff.settings import Settings

log = logging.getLogger(__name__)

# KEYS: the stream, the high-water hash, the stats hash (every key the script
# touches is declared, as Redis requires of scripts).
# ARGV: the entry field, MAXLEN, messages handled, now, the number of entries,
# the entries, then (chat id, message id) pairs for the high-water hash.
# The entries and the bookkeeping are exactly what the pipeline used to send.
APPEND_SCRIPT: Final = b"""
local entries = tonumber(ARGV[5])
local last = 5 + entries
for i = 6, last do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', ARGV[1], ARGV[i])
end
for i = last + 1, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call('HINCRBY', KEYS[3], 'messages', ARGV[3])
if entries > 0 then
  redis.call('HINCRBY', KEYS[3], 'detections', entries)
end
redis.call('HSET', KEYS[3], 'last_message_at', ARGV[4])
return entries
"""
# The script cache key (EVALSHA), not a security measure.
_SHA: Final = hashlib.sha1(APPEND_SCRIPT, usedforsecurity=False).hexdigest().encode()
_RETRYABLE: Final = (RedisConnectionError, RedisTimeoutError, OSError)
_DEFAULT_TIMEOUT_S: Final = 5.0  # redis-py's default socket timeout


class Seen(NamedTuple):
    """One message the listener has handled; ``entry`` is None when nothing matched.

    A named tuple: built once per message, and a frozen dataclass's ``__init__``
    (an ``object.__setattr__`` per field) cost several times more.
    """

    chat_id: int
    message_id: int
    entry: Entry | None
    # An edit can arrive for a message this listener has not seen yet (posted
    # during a gap still being caught up); it must not move the high-water mark
    # past messages that were never fetched.
    edit: bool = False


class _Batch:
    """One batch, encoded once (a retry resends the same bytes) and tallied for metrics."""

    __slots__ = ("advanced", "args", "detections", "messages", "per_chat", "per_kind")

    def __init__(self, batch: list[Seen], high_water: dict[int, int]) -> None:
        entries: list[bytes] = []
        advanced: dict[int, int] = {}
        per_chat: dict[tuple[int, bool], int] = {}
        per_kind: dict[str, int] = {}
        encode = contract.encode
        for chat_id, message_id, entry, edit in batch:
            if entry is not None:
                entries.append(encode(entry))
                for match in entry.matches:
                    per_kind[match.kind] = per_kind.get(match.kind, 0) + 1
            tally = (chat_id, entry is not None)
            per_chat[tally] = per_chat.get(tally, 0) + 1
            mark = max(advanced.get(chat_id, 0), high_water.get(chat_id, 0))
            if not edit and message_id > mark:
                advanced[chat_id] = message_id
        pairs: list[int] = []
        for chat_id, message_id in advanced.items():
            pairs += (chat_id, message_id)
        self.args: list[bytes | int] = [len(batch), b"", len(entries), *entries, *pairs]
        self.advanced = advanced
        self.detections = len(entries)
        self.messages = len(batch)
        self.per_chat = per_chat
        self.per_kind = per_kind


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
        timeout: float | None = None,
    ) -> None:
        """``timeout``: seconds a call may wait for Redis before the connection is dropped
        and the batch retried (default: the client's socket timeout, else 5 s)."""
        self._client = client
        self._batch = batch
        # Bounded, so a stalled Redis slows the source down instead of eating memory.
        self._queue: asyncio.Queue[Seen] = asyncio.Queue(maxsize=queue_size)
        self._high_water: dict[int, int] = {}
        self.appended = 0
        self._metrics = metrics.GroupSeries(group)
        # Everything before a batch's own arguments, packed per call by hiredis (C).
        self._head: tuple[bytes | str | int, ...] = (
            3, stream, keys.high_water(group), keys.group_stats(group), contract.FIELD, maxlen,
        )  # fmt: skip
        self._timeout = timeout
        self._connection: AbstractConnection | None = None
        self._call_started: float | None = None  # monotonic time of the call in flight

    @classmethod
    def for_group(cls, client: aioredis.Redis, settings: Settings, group: str) -> StreamWriter:
        """The writer a listener of ``group`` runs with, as ``settings`` configure it."""
        return cls(
            client,
            group=group,
            stream=settings.stream,
            maxlen=settings.stream_maxlen,
            batch=settings.listener_batch,
        )

    async def put(self, seen: Seen) -> None:
        if self._queue.full():
            await self._queue.put(seen)
        else:  # the usual case, without a coroutine of the queue's own per message
            self._queue.put_nowait(seen)

    async def drain(self) -> None:
        """Wait until everything handed to ``put`` is in Redis."""
        await self._queue.join()

    async def run(self) -> None:
        # The pool's kind of connection (same address, credentials, TLS, database),
        # but owned by the writer for its life: a pool checkout checks the socket for
        # stray data and records metrics, which cost more than an idle append itself.
        pool = self._client.connection_pool
        connection: AbstractConnection = pool.make_connection()  # type: ignore[no-untyped-call]
        timeout = self._timeout or connection.socket_timeout or _DEFAULT_TIMEOUT_S
        connection.socket_timeout = None  # the watchdog's job here
        connection.orig_socket_timeout = None  # (what redis-py restores after a maintenance)
        self._connection = connection
        watching = asyncio.create_task(self._watch(connection, timeout))
        try:
            await self._run()
        finally:
            watching.cancel()
            self._connection = None
            await connection.disconnect(nowait=True)
            await asyncio.gather(watching, return_exceptions=True)

    async def _watch(self, connection: AbstractConnection, limit: float) -> None:
        """Drop the connection when a call has waited ``limit`` seconds for Redis.

        The call then fails with a connection error and is retried on a new
        connection, as a timed-out call was.  One wakeup per quarter timeout.
        """
        given_up: float | None = None  # the stuck call already dropped (logged once)
        while True:
            await asyncio.sleep(limit / 4)
            started = self._call_started
            if started is None or started == given_up or time.monotonic() - started <= limit:
                continue
            given_up = started
            log.warning("no reply from Redis in %.1fs; reconnecting", limit)
            # Aborted, not closed: a close waits to flush what is buffered, so a send stuck
            # on a Redis that stopped reading would stay stuck until TCP gave up.
            stream = connection._writer  # redis-py's StreamWriter (no public handle)
            if stream is not None:
                stream.transport.abort()
            await connection.disconnect(nowait=True)

    async def _run(self) -> None:
        queue = self._queue
        while True:
            batch = [await queue.get()]
            while len(batch) < self._batch and not queue.empty():
                batch.append(queue.get_nowait())
            prepared = _Batch(batch, self._high_water)
            started = time.perf_counter()
            await self._write_until_done(prepared)
            self._count(prepared, time.perf_counter() - started)
            for _ in batch:
                queue.task_done()

    async def _write_until_done(self, batch: _Batch) -> None:
        delay = 0.05
        while True:
            try:
                await self._write(batch)
                return
            except _RETRYABLE as error:
                # A retry may append some entries twice; the consumer's upsert is
                # idempotent, so a duplicate is harmless and a loss is not.
                log.warning("stream append failed (%s); retrying in %.2fs", error, delay)
            except ResponseError as error:
                # Refused by the server: out of memory, or READONLY on a replica after a
                # failover (a new connection may reach the new primary).  Dropping the
                # batch would lose it and ending the writer would stop the listener, so
                # it is retried, loudly, until Redis takes it.
                log.error("stream append refused (%s); retrying in %.2fs", error, delay)
                if self._connection is not None:
                    await self._connection.disconnect(nowait=True)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _write(self, batch: _Batch) -> None:
        batch.args[1] = repr(time.time()).encode()  # last_message_at, as before
        try:
            await self._call(b"EVALSHA", _SHA, batch.args)
        except NoScriptError:
            # A fresh or restarted server: EVAL runs the script and caches it.
            await self._call(b"EVAL", APPEND_SCRIPT, batch.args)
        # Only after the round trip succeeded: a retried batch must write the mark again.
        self._high_water.update(batch.advanced)
        self.appended += batch.detections

    async def _call(self, command: bytes, script: bytes, args: list[bytes | int]) -> None:
        connection = self._connection
        assert connection is not None, "StreamWriter.run is not running"
        self._call_started = time.monotonic()
        try:
            # redis-py disconnects on a failed or interrupted send or read (a reply left
            # unread would be taken for the next call's); the next send reconnects.
            await connection.send_packed_command(
                # hiredis's stub types the argument as a 1-tuple; it takes any length.
                hiredis.pack_command((command, script, *self._head, *args))  # type: ignore[arg-type]
            )
            await connection.read_response()
        finally:
            self._call_started = None

    def _count(self, batch: _Batch, seconds: float) -> None:
        """Metrics for one appended batch: one increment per series touched."""
        series = self._metrics
        series.append_seconds.observe(seconds)
        series.messages.inc(batch.messages)
        for (chat_id, matched), count in batch.per_chat.items():
            series.chat(chat_id, matched).inc(count)
        for kind, count in batch.per_kind.items():
            series.detections(kind).inc(count)
        series.last_message.set_to_current_time()

    def remember(self, chat_id: int, message_id: int) -> None:
        """Seed the high-water mark (read back from Redis at start)."""
        if message_id > self._high_water.get(chat_id, 0):
            self._high_water[chat_id] = message_id
