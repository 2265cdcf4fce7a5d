"""Gap recovery: restarts and network drops lose nothing and duplicate nothing."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import pytest
import redis.asyncio as aioredis
from prometheus_client import REGISTRY

from telesniff import keys
from telesniff.groupspec import GroupSpec
from telesniff.listener.telegram.api import ChatInfo
from tests.listener.conftest import Rig
from tests.listener.harness import SOLANA, Channel, high_water, stream_entries, user
from tests.waiting import until


def _sample(name: str, group: str) -> float:
    return REGISTRY.get_sample_value(name, {"group": group}) or 0.0


async def _ids(redis: aioredis.Redis, stream: str) -> list[tuple[int, bool]]:
    return [(e.message_id, e.edit) for e in await stream_entries(redis, stream)]


def _has(redis: aioredis.Redis, stream: str, n: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return len(await stream_entries(redis, stream)) >= n

    return check


async def test_restart_recovers_what_was_posted_meanwhile_in_order_each_once(
    rig: Callable[..., Rig], redis: aioredis.Redis
) -> None:
    alpha = Channel(1700000001, "Alpha Calls", username="alphacalls")
    caller = user(61, "caller")
    r = rig(GroupSpec(chats=["@alphacalls"]))
    r.api.usernames["alphacalls"] = alpha.info
    r.api.posted[alpha.info.id] = [alpha.message(i, "before") for i in range(1, 11)]
    r.start()
    await r.live()
    for i in (11, 12):
        r.api.feed(alpha.new(alpha.message(i, f"live {i} {SOLANA}", caller), caller))
    stream = r.settings.stream
    await until(_has(redis, stream, 2), "two live calls")
    await r.halt()
    assert await high_water(redis, r.group.name) == {alpha.info.id: 12}

    # Down: 13..17 are posted (15 without a match); the next start must fetch them.
    posted = [alpha.message(i, f"gap {i} {SOLANA}" if i != 15 else "gm", caller)
              for i in range(13, 18)]  # fmt: skip
    r.api.posted[alpha.info.id] += posted
    during = Channel(alpha.channel_id, alpha.title, alpha.username)

    async def meanwhile(chat: ChatInfo) -> None:
        # While the history is being fetched, 17 and 18 arrive live: 17 is in the fetched
        # history too (a duplicate to drop), 18 (posted after the fetch) must wait until
        # 13..17 are handed over.
        del chat
        r.api.on_history = None
        r.api.feed(during.new(alpha.message(17, f"gap 17 {SOLANA}", caller), caller))
        r.api.feed(during.new(alpha.message(18, f"live 18 {SOLANA}", caller), caller))
        await until(lambda: _at_least(r, 2), "both live updates taken from Telethon")

    r.api.on_history = meanwhile
    recovered_before = _sample("telesniff_listener_gap_recovered_total", r.group.name)
    r.start()
    await r.live()
    await until(_has(redis, stream, 7), "the recovered messages and the live one")
    await r.halt()

    assert await _ids(redis, stream) == [(i, False) for i in (11, 12, 13, 14, 16, 17, 18)]
    assert await high_water(redis, r.group.name) == {alpha.info.id: 18}
    history = r.api.network_calls("history")
    assert history[-1] == ("history", alpha.info.id, 12, 100)  # from the mark, bounded
    assert _sample("telesniff_listener_gap_recovered_total", r.group.name) - recovered_before == 5
    recovered = [e for e in await stream_entries(redis, stream) if e.message_id in (13, 14)]
    assert all(e.sender == "caller" for e in recovered)


async def _at_least(r: Rig, n: int) -> bool:
    return r.source is not None and r.source.received >= n


async def test_first_start_listens_from_now_and_remembers_where_now_was(
    rig: Callable[..., Rig], redis: aioredis.Redis
) -> None:
    alpha = Channel(1700000002, "Fresh", username="freshcalls")
    r = rig(GroupSpec(chats=["@freshcalls"]))
    r.api.usernames["freshcalls"] = alpha.info
    r.api.posted[alpha.info.id] = [alpha.message(i, f"old {SOLANA}") for i in range(1, 51)]
    r.start()
    await r.live()
    await r.halt()
    # Nothing old replayed, but the mark is stored: a restart knows where it was.
    assert await stream_entries(redis, r.settings.stream) == []
    assert await redis.hget(keys.high_water(r.group.name), str(alpha.info.id)) == b"50"
    assert r.api.network_calls("history") == [("history", alpha.info.id, 0, 1)]

    r.api.posted[alpha.info.id] += [alpha.message(i, f"new {SOLANA}") for i in (51, 52)]
    r.start()
    await r.live()
    await r.halt()
    assert await _ids(redis, r.settings.stream) == [(51, False), (52, False)]


async def test_catch_up_is_bounded_and_keeps_the_newest(
    rig: Callable[..., Rig], redis: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    alpha = Channel(1700000003, "Busy", username="busycalls")
    r = rig(GroupSpec(chats=["@busycalls"]), catch_up_limit=3)
    r.api.usernames["busycalls"] = alpha.info
    await redis.hset(keys.high_water(r.group.name), str(alpha.info.id), "100")
    r.api.posted[alpha.info.id] = [alpha.message(i, f"call {SOLANA}") for i in range(101, 111)]
    with caplog.at_level(logging.WARNING, logger="telesniff.listener"):
        r.start()
        await r.live()
        await r.halt()
    assert await _ids(redis, r.settings.stream) == [(108, False), (109, False), (110, False)]
    assert "more than 3 messages since message 100" in caplog.text


async def test_network_drop_reconnects_with_backoff_then_catches_up(
    rig: Callable[..., Rig], redis: aioredis.Redis
) -> None:
    alpha = Channel(1700000004, "Flaky", username="flakycalls")
    caller = user(61, "caller")
    r = rig(GroupSpec(chats=["@flakycalls"]))
    r.api.usernames["flakycalls"] = alpha.info
    r.api.posted[alpha.info.id] = [alpha.message(20, "start")]
    r.start()
    await r.live()
    r.api.feed(alpha.new(alpha.message(21, f"live {SOLANA}", caller), caller))
    stream = r.settings.stream
    await until(_has(redis, stream, 1), "the first live call")
    assert _sample("telesniff_listener_connected", r.group.name) == 1

    r.api.connect_failures = 2  # the network stays down for two attempts
    slept_before = len(r.clock.sleeps)
    r.api.posted[alpha.info.id] += [alpha.message(i, f"missed {SOLANA}", caller) for i in (22, 23)]
    await r.api.drop()
    await until(lambda: _reconnected(r), "the reconnect")
    await r.live()
    # Telethon's own gap filling may deliver 23 again after the reconnect: dropped as seen.
    r.api.feed(alpha.new(alpha.message(23, f"missed {SOLANA}", caller), caller))
    r.api.feed(alpha.new(alpha.message(24, f"after {SOLANA}", caller), caller))
    await until(_has(redis, stream, 4), "the recovered and the new call")
    writer = await r.halt()

    assert await _ids(redis, stream) == [(21, False), (22, False), (23, False), (24, False)]
    backoff = [s for s in r.clock.sleeps[slept_before:] if s >= 1]
    assert backoff == [1.0, 2.0, 4.0]  # doubled per failed attempt
    assert len(r.api.network_calls("connect")) == 4  # first, two failures, the good one
    assert r.api.network_calls("history")[-1] == ("history", alpha.info.id, 21, 100)
    assert r.source is not None
    assert r.source.duplicates == 1
    assert writer.appended == 4
    assert _sample("telesniff_listener_connected", r.group.name) == 0  # stopped


async def _reconnected(r: Rig) -> bool:
    return len(r.api.network_calls("connect")) == 4 and r.api.connected.is_set()


async def test_stop_appends_everything_received_before_it(
    rig: Callable[..., Rig], redis: aioredis.Redis
) -> None:
    alpha = Channel(1700000005, "Burst", username="burstcalls")
    caller = user(61, "caller")
    r = rig(GroupSpec(chats=["@burstcalls"]), listener_batch=7)
    r.api.usernames["burstcalls"] = alpha.info
    r.api.posted[alpha.info.id] = [alpha.message(1, "start")]
    r.start()
    await r.live()
    for i in range(2, 302):
        r.api.feed(alpha.new(alpha.message(i, f"call {i} {SOLANA}", caller), caller))
    await until(lambda: _at_least(r, 300), "Telethon dispatching the burst")
    await r.halt()
    # No polling: when the stop returns, every received message is in the stream.
    assert await _ids(redis, r.settings.stream) == [(i, False) for i in range(2, 302)]
    assert await high_water(redis, r.group.name) == {alpha.info.id: 301}
