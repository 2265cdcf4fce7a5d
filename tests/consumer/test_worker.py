"""The consumer against real Redis/Valkey and real SQLite/PostgreSQL."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, cast

import orjson
import pytest
import redis.asyncio as aioredis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from telesniff import contract
from telesniff.consumer.worker import Consumer
from telesniff.db.driver import Database
from telesniff.db.models import Detection, Mention
from telesniff.settings import Settings
from tests.factories import entry
from tests.waiting import until


def settings(**overrides: object) -> Settings:
    return Settings(
        consumer_name="test-consumer",
        flush_interval_ms=10,
        **overrides,  # type: ignore[arg-type]
    )


async def finishes(work: Coroutine[Any, Any, None], within: float) -> None:
    """Await ``work``; if it has not finished ``within`` seconds, fail with every task's
    stack (this test once hung without a log line, and the stacks say where)."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=within)
    if not done:
        stacks = io.StringIO()
        for other in asyncio.all_tasks():
            print(other, file=stacks)
            other.print_stack(file=stacks)
        task.cancel()
        raise AssertionError(f"not finished after {within} s; tasks:\n{stacks.getvalue()}")
    task.result()


async def stored(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        counted = await connection.execute(select(func.count()).select_from(Detection))
        return int(counted.scalar_one())


@pytest.fixture
async def running(
    redis: aioredis.Redis, database: Database
) -> AsyncIterator[Callable[..., Consumer]]:
    tasks: list[tuple[Consumer, asyncio.Task[None]]] = []

    def start(**overrides: object) -> Consumer:
        consumer = Consumer(redis, database, settings(**overrides))
        tasks.append((consumer, asyncio.create_task(consumer.run())))
        return consumer

    yield start
    for consumer, task in tasks:
        consumer.stop()
        await asyncio.wait_for(task, 10)


async def test_broadcasts_before_storing_and_stores_exactly_once(
    redis: aioredis.Redis, engine: AsyncEngine, running: Callable[..., Consumer]
) -> None:
    s = settings()
    pubsub = redis.pubsub()
    await pubsub.subscribe(s.live_channel)
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    sent = [entry(i) for i in range(1, 201)]
    for item in sent:
        await redis.xadd(s.stream, {contract.FIELD: contract.encode(item)})
    # The same message delivered twice (a listener retry) is stored once.
    await redis.xadd(s.stream, {contract.FIELD: contract.encode(sent[0])})
    running()

    seen: list[str] = []
    while len(seen) < 201:
        message = await pubsub.get_message(timeout=10)
        assert message is not None, f"broadcast stopped after {len(seen)}"
        if message["type"] == "message":
            pairs = orjson.loads(message["data"])
            seen.extend(pair[0] for pair in pairs)
            assert all(pair[1]["v"] == contract.SCHEMA_VERSION for pair in pairs)
    assert len(set(seen)) == 201

    await until(lambda: _equals(stored(engine), 200), "200 rows", within=15)
    await until(lambda: _pending_is(redis, s, 0), "all acknowledged", within=15)
    async with engine.connect() as connection:
        mentions = (
            await connection.execute(select(func.count()).select_from(Mention))
        ).scalar_one()
    assert mentions == 200
    await pubsub.aclose()


async def test_edit_replaces_row_and_old_redelivery_does_not(
    redis: aioredis.Redis, engine: AsyncEngine, running: Callable[..., Consumer]
) -> None:
    s = settings()
    original = entry(7, text="CA soon", received_at=1000.0)
    edited = entry(7, text="CA fixed", edit=True, received_at=2000.0)
    for item in (original, edited, original):  # the last one is a late redelivery
        await redis.xadd(s.stream, {contract.FIELD: contract.encode(item)})
    consumer = running()
    await until(lambda: _at_least(consumer, 3), "three entries stored", within=15)
    async with engine.connect() as connection:
        rows = (await connection.execute(select(Detection.text, Detection.edited))).all()
    assert rows == [("CA fixed", True)]


async def test_malformed_entries_are_dead_lettered_and_the_loop_goes_on(
    redis: aioredis.Redis, engine: AsyncEngine, running: Callable[..., Consumer]
) -> None:
    s = settings()
    await redis.xadd(s.stream, {contract.FIELD: b"{not json"})
    await redis.xadd(s.stream, {b"other": b"field"})
    await redis.xadd(s.stream, {contract.FIELD: b'{"v": 99, "group": "x"}'})
    bad_chat = {**orjson.loads(contract.encode(entry(2))), "chat_id": "abc"}
    await redis.xadd(s.stream, {contract.FIELD: orjson.dumps(bad_chat)})
    await redis.xadd(s.stream, {contract.FIELD: contract.encode(entry(1))})
    running()
    await until(lambda: _equals(stored(engine), 1), "the good entry stored", within=15)
    await until(lambda: _pending_is(redis, s, 0), "dead letters acknowledged", within=15)
    dead = cast(list[tuple[bytes, dict[bytes, bytes]]], await redis.xrange(s.dead_letter_stream))
    reasons = [fields[b"reason"].decode() for _id, fields in dead]
    assert len(reasons) == 4
    assert reasons[0].startswith("not JSON")
    assert "missing field 'e'" in reasons[1]
    assert "unsupported schema version 99" in reasons[2]
    assert reasons[3] == "schema: chat_id: expected `int`, got `str`"
    # The original bytes are kept, so an operator can inspect or replay them.
    assert dead[0][1][b"field:e"] == b"{not json"


async def test_claims_entries_left_pending_by_a_dead_consumer(
    redis: aioredis.Redis, engine: AsyncEngine, database: Database
) -> None:
    s = settings()
    await redis.xgroup_create(s.stream, s.consumer_group, id="0", mkstream=True)
    ids: list[int | bytes | str | memoryview[int]] = [
        await redis.xadd(s.stream, {contract.FIELD: contract.encode(entry(i))}) for i in (1, 2, 3)
    ]
    await redis.xreadgroup(s.consumer_group, "ghost", {s.stream: ">"})  # read, never acknowledged
    await redis.xclaim(s.stream, s.consumer_group, "ghost", 0, ids, idle=120_000)
    consumer = Consumer(redis, database, s)
    assert await consumer.claim_idle() == 3
    consumer.stop()
    await finishes(consumer.run(), within=30)
    assert await stored(engine) == 3
    assert await _pending_is(redis, s, 0)


async def _equals(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def _at_least(consumer: Consumer, count: int) -> bool:
    return consumer.stored >= count


async def _pending_is(redis: aioredis.Redis, s: Settings, count: int) -> bool:
    summary = await redis.xpending(s.stream, s.consumer_group)
    return int(summary["pending"]) == count


async def _blocked_in_xreadgroup(redis: aioredis.Redis) -> bool:
    clients = await redis.client_list()
    return any(c.get("cmd") == "xreadgroup" and "b" in c.get("flags", "") for c in clients)


async def test_what_a_blocked_read_returns_after_stop_is_stored_before_run_returns(
    redis: aioredis.Redis, engine: AsyncEngine, database: Database
) -> None:
    s = settings()
    consumer = Consumer(redis, database, s)
    running = asyncio.create_task(consumer.run())
    await redis.xadd(s.stream, {contract.FIELD: contract.encode(entry(1))})
    await until(lambda: _equals(stored(engine), 1), "the first entry stored", within=15)
    await until(
        lambda: _blocked_in_xreadgroup(redis), "the consumer blocked in XREADGROUP", within=15
    )
    consumer.stop()
    # Arrives while the read that began before stop() is still blocked: it is returned
    # to that read, so it must be stored and acknowledged, not left pending.
    await redis.xadd(s.stream, {contract.FIELD: contract.encode(entry(2))})
    await asyncio.wait_for(running, 10)
    assert await stored(engine) == 2
    assert await _pending_is(redis, s, 0)
