"""FLOOD_WAIT: wait exactly what Telegram asks, show it while waiting, drop nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
import redis.asyncio as aioredis
from prometheus_client import REGISTRY
from telethon import errors

from telesniff import keys
from telesniff.groupspec import GroupSpec
from telesniff.listener.flood import FloodGuard
from tests.listener.conftest import Rig
from tests.listener.harness import SOLANA, Channel, FakeClock, stream_entries, user


def _sample(name: str, group: str) -> float:
    return REGISTRY.get_sample_value(name, {"group": group}) or 0.0


async def test_history_flood_wait_is_waited_out_and_exposed(
    rig: Callable[..., Rig], redis: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    alpha = Channel(1700000011, "Popular", username="popularcalls")
    r = rig(GroupSpec(chats=["@popularcalls"]))
    r.api.usernames["popularcalls"] = alpha.info
    await redis.hset(keys.high_water(r.group.name), str(alpha.info.id), "40")
    r.api.posted[alpha.info.id] = [alpha.message(41, f"call {SOLANA}", user(61, "caller"))]
    r.api.floods["history"] = [17]
    seen_while_waiting: list[tuple[float, float, bool]] = []

    def check(seconds: float) -> None:
        assert r.source is not None
        seen_while_waiting.append((
            seconds,
            _sample("telesniff_listener_floodwait_active", r.group.name),
            r.source.status()["floodwait"],
        ))  # fmt: skip

    r.clock.during_sleep = check
    with caplog.at_level(logging.WARNING, logger="telesniff.listener"):
        r.start()
        await r.live()
        await r.halt()

    assert (17, 1.0, True) in seen_while_waiting  # waited 17s, visibly
    assert _sample("telesniff_listener_floodwait_active", r.group.name) == 0
    assert _sample("telesniff_listener_floodwait_seconds_total", r.group.name) == 17
    assert "wait 17s (FLOOD_WAIT) before fetching the history of chat" in caplog.text
    # The call was retried, and the message it fetched was not dropped.
    assert len(r.api.network_calls("history")) == 2
    assert [e.message_id for e in await stream_entries(redis, r.settings.stream)] == [41]


async def test_resolve_flood_wait_is_waited_out(rig: Callable[..., Rig]) -> None:
    alpha = Channel(1700000012, "Slow", username="slowcalls")
    r = rig(GroupSpec(chats=["@slowcalls"]))
    r.api.usernames["slowcalls"] = alpha.info
    r.api.floods["resolve_username"] = [42, 3]
    r.start()
    await r.live()
    await r.halt()
    assert [s for s in r.clock.sleeps if s in (42, 3)] == [42, 3]
    assert len(r.api.network_calls("resolve_username")) == 3
    assert _sample("telesniff_listener_floodwait_seconds_total", r.group.name) == 45


async def test_premium_flood_wait_counts_too_and_other_errors_pass_through() -> None:
    clock = FakeClock()
    guard = FloodGuard("guard-test", clock)
    attempts: list[int] = []

    async def request() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise errors.FloodPremiumWaitError(request=None, capture=5)
        return "done"

    assert await guard.call("a test request", request) == "done"
    assert clock.sleeps == [5]

    async def broken() -> str:
        raise errors.ChannelPrivateError(request=None)

    with pytest.raises(errors.ChannelPrivateError):
        await guard.call("a test request", broken)
    assert clock.sleeps == [5]  # not retried, not waited
