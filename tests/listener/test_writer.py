"""The stream writer: entries, high-water marks, stats and metrics, and its failure paths.

All on real Redis (Debian's redis-server and the embedded Valkey).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as aioredis
from prometheus_client import REGISTRY

from telesniff import contract, keys
from telesniff.listener.writer import Seen, StreamWriter
from tests import servers
from tests.factories import entry
from tests.listener.harness import high_water
from tests.waiting import until


@contextlib.asynccontextmanager
async def running(writer: StreamWriter) -> AsyncIterator[StreamWriter]:
    task = asyncio.create_task(writer.run())
    try:
        yield writer
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def stream(redis: aioredis.Redis) -> list[dict[bytes, bytes]]:
    """The fields of every entry of stream ``s``, oldest first."""
    records = await redis.xrange("s")
    return [fields for _, fields in records or []]  # type: ignore[misc]


async def message_ids(redis: aioredis.Redis) -> set[int]:
    return {contract.decode(fields[contract.FIELD]).message_id for fields in await stream(redis)}


def logged(caplog: pytest.LogCaptureFixture, text: str) -> Callable[[], Awaitable[bool]]:
    """A check for ``until``: has ``text`` been logged yet?"""

    async def check() -> bool:
        return text in caplog.text

    return check


async def test_edits_never_move_the_mark_and_metrics_count(redis: aioredis.Redis) -> None:
    writer = StreamWriter(redis, group="writer-test", stream="s", maxlen=1000)
    before = sample("telesniff_listener_detections_total", group="writer-test", kind="solana")
    chat = {"group": "writer-test", "chat": "-1001"}
    per_chat = "telesniff_listener_chat_messages_total"
    matched = sample(per_chat, **chat, matched="true")
    unmatched = sample(per_chat, **chat, matched="false")
    async with running(writer):
        await writer.put(Seen(-1001, 5, entry(5)))
        await writer.put(Seen(-1001, 6, None))
        # An edit of a message not seen yet (posted during a gap): the mark stays at 6.
        await writer.put(Seen(-1001, 9, entry(9, edit=True), edit=True))
        await writer.drain()
    assert await high_water(redis, "writer-test") == {-1001: 6}
    assert await redis.xlen("s") == 2
    after = sample("telesniff_listener_detections_total", group="writer-test", kind="solana")
    assert after == before + 2
    assert sample(per_chat, **chat, matched="true") == matched + 2
    assert sample(per_chat, **chat, matched="false") == unmatched + 1
    last = sample("telesniff_listener_last_message_timestamp_seconds", group="writer-test")
    assert last > 0


async def test_entries_and_stats_are_what_the_contract_says(redis: aioredis.Redis) -> None:
    """One field ``e`` holding the entry's JSON, in order; the group's counters add up."""
    sent = [entry(n, chat_id=-1000 - n % 3) for n in range(1, 8)]
    writer = StreamWriter(redis, group="g-contract", stream="s", maxlen=1000)
    async with running(writer):
        for item in sent:
            await writer.put(Seen(item.chat_id, item.message_id, item))
        await writer.put(Seen(-1000, 100, None))
        await writer.drain()
    fields = await stream(redis)
    assert fields == [{contract.FIELD: contract.encode(e)} for e in sent]
    assert [contract.decode(f[contract.FIELD]) for f in fields] == sent
    stats = await redis.hgetall(keys.group_stats("g-contract"))
    assert int(stats[b"messages"]) == 8
    assert int(stats[b"detections"]) == 7
    assert float(stats[b"last_message_at"]) > 0
    assert await high_water(redis, "g-contract") == {-1000: 100, -1001: 7, -1002: 5}
    assert writer.appended == 7


async def test_a_backlog_goes_in_batches_and_the_stream_is_trimmed(
    redis: aioredis.Redis,
) -> None:
    """Queued before the writer starts: taken ``batch`` at a time, every entry appended
    once, and ``MAXLEN ~`` keeps the stream near its limit."""
    writer = StreamWriter(redis, group="g-batch", stream="s", maxlen=200, batch=500)
    for n in range(1, 1201):
        await writer.put(Seen(-1001 - n % 4, n, entry(n, chat_id=-1001 - n % 4)))
    await writer.put(Seen(-1001, 5000, None))  # a non-match ends the backlog
    async with running(writer):
        await writer.drain()
    stats = await redis.hgetall(keys.group_stats("g-batch"))
    assert (int(stats[b"messages"]), int(stats[b"detections"])) == (1201, 1200)
    assert writer.appended == 1200
    length = await redis.xlen("s")
    assert 200 <= length < 1200  # approximate trimming: whole nodes go
    last = contract.decode((await stream(redis))[-1][contract.FIELD])
    assert last.message_id == 1200
    assert await high_water(redis, "g-batch") == {
        -1001: 5000, -1002: 1197, -1003: 1198, -1004: 1199,
    }  # fmt: skip


async def test_a_server_that_lost_its_scripts_gets_the_script_again(
    redis: aioredis.Redis,
) -> None:
    writer = StreamWriter(redis, group="g-noscript", stream="s", maxlen=1000)
    async with running(writer):
        await writer.put(Seen(-1001, 1, entry(1)))
        await writer.drain()
        await redis.script_flush()  # as after a restart
        await writer.put(Seen(-1001, 2, entry(2)))
        await writer.drain()
    assert await redis.xlen("s") == 2
    assert await high_water(redis, "g-noscript") == {-1001: 2}


async def _writer_connection(redis: aioredis.Redis) -> int:
    """The id of the writer's connection: the one whose last command ran the script."""
    clients = await redis.client_list()
    ids = [int(c["id"]) for c in clients if c["cmd"] in ("evalsha", "eval")]
    assert len(ids) == 1, clients
    return ids[0]


async def test_a_dropped_connection_is_retried_and_nothing_is_lost(
    redis: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    writer = StreamWriter(redis, group="g-drop", stream="s", maxlen=1000)
    async with running(writer):
        await writer.put(Seen(-1001, 1, entry(1)))
        await writer.drain()
        await redis.client_kill_filter(_id=str(await _writer_connection(redis)))
        with caplog.at_level(logging.WARNING, logger="telesniff.listener.writer"):
            await writer.put(Seen(-1001, 2, entry(2)))
            await writer.drain()
    assert "stream append failed" in caplog.text
    assert await message_ids(redis) == {1, 2}
    assert await high_water(redis, "g-drop") == {-1001: 2}


async def test_a_server_that_stops_answering_is_dropped_after_the_timeout(
    redis: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """The writer's connection has no socket timeout of its own: its watchdog drops a
    call that waits too long, and the batch goes through once the server answers."""
    writer = StreamWriter(redis, group="g-hang", stream="s", maxlen=1000, timeout=0.2)
    async with running(writer):
        await writer.put(Seen(-1001, 1, entry(1)))
        await writer.drain()
        first = await _writer_connection(redis)
        await redis.client_pause(30_000, all=False)  # write commands wait
        try:
            with caplog.at_level(logging.WARNING, logger="telesniff.listener.writer"):
                await writer.put(Seen(-1001, 2, entry(2)))
                await until(
                    logged(caplog, "no reply from Redis"),
                    "the watchdog to drop the hung call",
                    within=5,
                )
        finally:
            await redis.client_unpause()
        await asyncio.wait_for(writer.drain(), 10)
        assert await _writer_connection(redis) != first
    assert await message_ids(redis) == {1, 2}
    assert await high_water(redis, "g-hang") == {-1001: 2}


async def test_a_send_stuck_on_a_server_that_stopped_reading_is_aborted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A server that stops reading (stopped process, black-holed network) leaves a large
    batch stuck in the send buffer; closing would wait to flush it, so the watchdog
    aborts the connection and the batch is retried, and lands once the server is back."""
    with servers.redis_server() as url:  # its own server: this one gets SIGSTOPped
        redis = aioredis.from_url(url)
        pid = int((await redis.info("server"))["process_id"])
        writer = StreamWriter(redis, group="g-stuck", stream="s", maxlen=10_000, timeout=0.3)
        try:
            async with running(writer):
                await writer.put(Seen(-1001, 1, entry(1)))
                await writer.drain()
                os.kill(pid, signal.SIGSTOP)
                try:
                    with caplog.at_level(logging.WARNING, logger="telesniff.listener.writer"):
                        big = "x" * 60_000  # 500 of them: far more than the socket buffers
                        for n in range(2, 502):
                            await writer.put(Seen(-1001, n, entry(n, text=f"{n} {big}")))
                        await until(
                            logged(caplog, "stream append failed"),
                            "the stuck send to be aborted",
                            within=10,
                        )
                    assert caplog.text.count("no reply from Redis") <= 3  # once per stuck call
                finally:
                    os.kill(pid, signal.SIGCONT)
                await asyncio.wait_for(writer.drain(), 30)
            assert await message_ids(redis) == set(range(1, 502))
        finally:
            await redis.aclose()


async def test_an_append_redis_refuses_is_retried_until_it_is_taken(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Out of memory (or READONLY after a failover) refuses the script; the batch waits."""
    with servers.redis_server() as url:
        redis = aioredis.from_url(url)
        writer = StreamWriter(redis, group="g-oom", stream="s", maxlen=1000)
        try:
            async with running(writer):
                await writer.put(Seen(-1001, 1, entry(1)))
                await writer.drain()
                await redis.config_set("maxmemory", 1)  # noeviction: every write refused
                try:
                    with caplog.at_level(logging.WARNING, logger="telesniff.listener.writer"):
                        await writer.put(Seen(-1001, 2, entry(2)))
                        await until(
                            logged(caplog, "stream append refused"),
                            "the refused append to be retried",
                            within=10,
                        )
                finally:
                    await redis.config_set("maxmemory", 0)
                await asyncio.wait_for(writer.drain(), 10)
            assert await message_ids(redis) == {1, 2}
            assert await high_water(redis, "g-oom") == {-1001: 2}
        finally:
            await redis.aclose()
