"""The consumer loop: broadcast first (latency), the database second (batched), then XACK.

Reading and storing run as two tasks joined by a bounded buffer, so a slow
database write never delays the live broadcast of what arrives meanwhile,
and a stalled database stops reading instead of growing memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any

import hiredis
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from telesniff.broker import ensure_group
from telesniff.consumer import metrics
from telesniff.consumer.batch import DeadLetter, StreamRecord, decode_records, live_payload
from telesniff.db import store
from telesniff.db.driver import Connection, Database, StoreError
from telesniff.settings import Settings

log = logging.getLogger(__name__)
_READ_BLOCK_MS = 500  # how long a read may block: bounds how fast a stop is noticed
_DEAD_LETTER_MAXLEN = 100_000
# Batches written at once, each on its own connection (SQLite has a single writer).
_STORES_IN_FLIGHT = {"postgresql": 2}


class Consumer:
    def __init__(self, client: aioredis.Redis, database: Database, settings: Settings) -> None:
        self._client = client
        self._database = database
        self._settings = settings
        self._stream = settings.stream
        self._group = settings.consumer_group
        self._name = settings.consumer_name
        self._buffer: list[store.Stored] = []
        self._buffer_ids: list[bytes] = []
        self._buffer_since = 0.0
        self._stopping = asyncio.Event()
        # Set once the read loop has returned: only then can nothing more arrive, so only
        # then may the store loop flush early and finish (a read blocked in XREADGROUP
        # when ``stop`` is called still returns entries, and they must be stored).
        self._reading_done = False
        # The buffer's state as events, set and cleared by ``_buffer_changed`` (one writer,
        # one reader, no lock needed): each waiter wakes only when its condition holds,
        # so a trickle of reads does not wake the store loop once per read.
        self._filled = asyncio.Event()  # something to store (or stopping)
        self._full = asyncio.Event()  # a whole batch to store (or stopping)
        self._room = asyncio.Event()  # room to read more (or stopping)
        self._room.set()
        # Database connections kept open between batches, one per batch in flight.
        self._connections: list[Connection] = []
        self.stored = 0
        self.dead_lettered = 0

    def stop(self) -> None:
        """Stop reading; what was read is still stored and acknowledged before ``run`` returns."""
        self._stopping.set()
        self._buffer_changed()

    def _buffer_changed(self) -> None:
        size, done = len(self._buffer), self._reading_done
        for event, condition in (
            (self._filled, size > 0 or done),
            (self._full, size >= self._settings.batch_size or done),
            (self._room, size < self._settings.batch_size * 4 or self._stopping.is_set()),
        ):
            if condition:
                event.set()
            else:
                event.clear()

    async def run(self) -> None:
        await ensure_group(self._client, self._stream, self._group)
        storing = asyncio.create_task(self._store_loop(), name="consumer-store")
        # Lag and pending every few seconds (XINFO GROUPS), never on the read path.
        watching = asyncio.create_task(
            metrics.watch_group(self._client, self._settings), name="consumer-metrics"
        )
        try:
            await self._recover_own()
            claimer = asyncio.create_task(self._claim_loop(), name="consumer-claim")
            try:
                while not self._stopping.is_set():
                    await self._read(">")
            finally:
                claimer.cancel()
                await asyncio.gather(claimer, return_exceptions=True)
        finally:
            self._stopping.set()
            self._reading_done = True
            self._buffer_changed()
            try:
                await storing
            finally:
                watching.cancel()
                await asyncio.gather(watching, return_exceptions=True)
                while self._connections:
                    with contextlib.suppress(Exception):
                        await self._connections.pop().close()

    async def _recover_own(self) -> None:
        """Entries this consumer name was given before a restart, not yet acknowledged."""
        start = b"0"
        while True:
            await self._wait_for_room()
            records = await self._xreadgroup(start, block=None)
            if not records:
                return
            await self.handle([record for record in records if record[1]], live=False)
            start = records[-1][0]

    async def _read(self, start: str) -> None:
        await self._wait_for_room()
        if self._stopping.is_set():
            return
        try:
            records = await self._xreadgroup(start.encode(), block=_READ_BLOCK_MS)
        except (RedisConnectionError, RedisTimeoutError) as error:
            metrics.REDIS_ERRORS.labels("read").inc()
            log.warning("stream read failed (%s); retrying", error)
            await asyncio.sleep(0.5)
            return
        if records:
            await self.handle(records)

    async def _xreadgroup(self, start: bytes, *, block: int | None) -> list[StreamRecord]:
        """One read of this consumer's stream: ``[(id, fields), …]`` (fields empty if deleted).

        Sent on a pooled connection directly and returned as the server's reply:
        redis-py's reply parsing (a dict per entry) was a tenth of the consumer's CPU.
        """
        command: list[bytes | str | int] = [
            "XREADGROUP", "GROUP", self._group, self._name, "COUNT", self._settings.batch_size,
        ]  # fmt: skip
        if block is not None:
            command += ["BLOCK", block]
        command += ["STREAMS", self._stream, start]
        reply = await self._command(*command)
        if not reply:
            return []
        if isinstance(reply, dict):  # RESP3: {stream: [[id, fields], …]}
            reply = list(reply.items())
        return [(record[0], record[1]) for record in reply[0][1]]

    async def _command(self, *command: bytes | str | int) -> Any:
        """Send one command on a pooled connection and return the server's reply as is.

        The read, the broadcast and the acknowledgement run once per read or flush:
        redis-py's command and pipeline layers (reply callbacks, a pipeline object, its
        stack) cost more than the command itself when a read brings one entry.
        """
        # hiredis's stub types the argument as a 1-tuple; it takes any length.
        return await self._exchange([hiredis.pack_command(command)])  # type: ignore[arg-type]

    async def _publish(self, payload: bytes) -> None:
        """``PUBLISH`` the live batch, its payload sent as it is: packing a command copies
        every argument, and a read's payload is a megabyte at full speed."""
        channel = self._settings.live_channel.encode()
        head = b"*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%b\r\n$%d\r\n" % (
            len(channel), channel, len(payload),
        )  # fmt: skip
        await self._exchange([head, payload, b"\r\n"])

    async def _exchange(self, packed: list[bytes]) -> Any:
        """Write one packed command (its chunks in one system call) and read its reply."""
        pool = self._client.connection_pool
        connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            await connection.send_packed_command(packed)
            return await connection.read_response()
        except BaseException:
            # A reply left half-read would be taken for the next command's.
            await connection.disconnect()
            raise
        finally:
            await pool.release(connection)

    async def handle(self, records: Sequence[StreamRecord], *, live: bool = True) -> None:
        """Broadcast and buffer one read's worth of records (also used for claimed ones).

        ``live`` is False for entries recovered or claimed after a restart: they count,
        but not towards the end-to-end latency (they were broadcast late on purpose).
        """
        decoded = decode_records(records)
        if decoded.raw:
            await self._publish(live_payload(decoded.raw))
        if decoded.dead:
            await self._dead_letter(decoded.dead)
        metrics.record_broadcast(decoded.stored, len(decoded.dead), live=live)
        self.dead_lettered += len(decoded.dead)
        if decoded.stored:
            if not self._buffer:
                self._buffer_since = time.monotonic()
            self._buffer.extend(decoded.stored)
            self._buffer_ids.extend(record_id for record_id, _ in decoded.raw)
            self._buffer_changed()

    async def _dead_letter(self, dead_letters: Sequence[DeadLetter]) -> None:
        """Append undecodable entries to the dead-letter stream, then acknowledge them."""
        pipe = self._client.pipeline(transaction=False)
        for dead in dead_letters:
            log.warning("dead-lettering entry %s: %s", dead.stream_id, dead.reason)
            pipe.xadd(
                self._settings.dead_letter_stream,
                {
                    b"id": dead.stream_id.encode(),
                    b"reason": dead.reason.encode(),
                    b"consumer": self._name.encode(),
                    **{b"field:" + name: value for name, value in dead.fields.items()},
                },
                maxlen=_DEAD_LETTER_MAXLEN,
                approximate=True,
            )
        pipe.xack(self._stream, self._group, *(dead.stream_id for dead in dead_letters))
        await pipe.execute()

    async def _wait_for_room(self) -> None:
        await self._room.wait()

    async def _store_loop(self) -> None:
        """Flush batches, two at once on PostgreSQL (each acknowledged after its commit).

        With two in flight, the database works on one batch while this process
        prepares the next, instead of each waiting for the other.
        """
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while await self._next_flush(in_flight):
                pass
        finally:
            if in_flight:
                await asyncio.gather(*in_flight)

    async def _next_flush(self, in_flight: set[asyncio.Task[None]]) -> bool:
        """Start storing the next batch; False once stopping and everything is stored."""
        flush_after = self._settings.flush_interval_ms / 1000
        size = self._settings.batch_size
        while len(in_flight) >= _STORES_IN_FLIGHT.get(self._database.dialect, 1):
            done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            in_flight.difference_update(done)
            for task in done:
                task.result()
        await self._filled.wait()
        if not self._buffer:
            return False  # reading has ended, and everything is stored
        age = time.monotonic() - self._buffer_since
        if not self._full.is_set() and age < flush_after:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(flush_after - age):
                    await self._full.wait()
        batch, self._buffer = self._buffer[:size], self._buffer[size:]
        ids, self._buffer_ids = self._buffer_ids[:size], self._buffer_ids[size:]
        self._buffer_since = time.monotonic()
        self._buffer_changed()
        in_flight.add(asyncio.create_task(self._store(batch, ids), name="consumer-flush"))
        return True

    async def _store(self, batch: list[store.Stored], ids: list[bytes]) -> None:
        started = time.perf_counter()
        delay = 0.1
        while True:
            connection = self._connections.pop() if self._connections else None
            try:
                if connection is None:
                    connection = await self._database.connect()
                await store.upsert(self._database, batch, connection=connection)
                self._connections.append(connection)
                break
            except StoreError as error:
                if connection is not None:  # perhaps broken: never reused
                    await self._database.discard(connection)
                # Not acknowledged, so nothing is lost: retry until the database is back.
                metrics.DB_WRITE_ERRORS.inc()
                log.error("database write failed (%s); retrying in %.1fs", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        await self._ack(ids)
        self.stored += len(batch)
        metrics.record_flush(len(batch), time.perf_counter() - started)

    async def _ack(self, ids: list[bytes]) -> None:
        while True:
            try:
                await self._command("XACK", self._stream, self._group, *ids)
                return
            except (RedisConnectionError, RedisTimeoutError) as error:
                # Unacknowledged entries would be redelivered and upserted again: harmless.
                metrics.REDIS_ERRORS.labels("ack").inc()
                log.warning("XACK failed (%s); retrying", error)
                await asyncio.sleep(0.5)

    async def _claim_loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.claim_every_s)
            try:
                await self.claim_idle()
            except (RedisConnectionError, RedisTimeoutError) as error:
                metrics.REDIS_ERRORS.labels("claim").inc()
                log.warning("claiming idle entries failed (%s)", error)

    async def claim_idle(self) -> int:
        """Take over entries left pending too long by a consumer that died; returns how many."""
        claimed = 0
        start = "0-0"
        while True:
            await self._wait_for_room()
            reply = await self._client.xautoclaim(
                self._stream,
                self._group,
                self._name,
                min_idle_time=self._settings.claim_idle_ms,
                start_id=start,
                count=self._settings.batch_size,
            )
            start_raw, records, deleted = reply[0], reply[1], reply[2] if len(reply) > 2 else []
            records = [record for record in records if record[1] is not None]
            if records:
                log.info("claimed %d idle entries", len(records))
                await self.handle(records, live=False)
                metrics.CLAIMED.inc(len(records))
                claimed += len(records)
            if deleted:
                # Trimmed from the stream before anyone stored them: nothing left to store.
                metrics.TRIMMED.inc(len(deleted))
                log.error("%d pending entries were trimmed before being stored", len(deleted))
                await self._client.xack(self._stream, self._group, *deleted)
            start = start_raw.decode() if isinstance(start_raw, bytes) else str(start_raw)
            if start == "0-0":
                return claimed
