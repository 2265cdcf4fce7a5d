"""The session fence: one process per Telegram session."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable

import pytest
import redis.asyncio as aioredis

from telesniff import keys
from telesniff.groupspec import GroupSpec
from telesniff.listener.lease import LeaseHeld, LeaseLost, SessionLease
from tests.listener.conftest import Rig
from tests.listener.harness import Channel, make_session


async def test_second_listener_on_the_same_session_refuses_to_start(
    rig: Callable[..., Rig], redis: aioredis.Redis
) -> None:
    alpha = Channel(1700000050, "Shared", username="sharedcalls")
    first = rig(GroupSpec(chats=["@sharedcalls"]))
    first.api.usernames["sharedcalls"] = alpha.info
    first.start()
    await first.live()

    second = rig(GroupSpec(chats=["@sharedcalls"]))
    second.session = first.session
    second.settings = first.settings
    second.start()
    assert second.task is not None
    with pytest.raises(LeaseHeld) as raised:
        await second.task
    message = str(raised.value)
    assert f"listener for group {first.group.name!r}" in message
    assert f"on host {socket.gethostname()} (pid {os.getpid()})" in message
    assert first.session not in message
    assert second.api.calls == []  # it never talked to Telegram
    assert first.source is not None
    assert first.source.caught_up  # the first one is untouched

    await first.halt()
    assert await redis.exists(keys.session_lease(first.session)) == 0  # released on stop
    second.start()  # now it may
    await second.live()
    await second.halt()


async def test_renewal_keeps_it_and_a_lost_lease_is_noticed(redis: aioredis.Redis) -> None:
    session = make_session()
    lease = SessionLease(redis, session, group="g", ttl_s=5)
    await lease.acquire()
    await redis.pexpire(lease.key, 1000)
    await lease.renew()
    assert 1000 < await redis.pttl(lease.key) <= 5000

    other = SessionLease(redis, session, group="h", ttl_s=5)
    await redis.set(lease.key, other._value)  # expired and taken over meanwhile
    with pytest.raises(LeaseLost):
        await lease.renew()
    await lease.release()  # must not delete the other holder's lease
    assert await redis.get(lease.key) == other._value
    with pytest.raises(LeaseHeld, match="listener for group 'h'"):
        await lease.acquire()


async def test_listener_stops_when_its_lease_is_taken_over(
    rig: Callable[..., Rig], redis: aioredis.Redis
) -> None:
    alpha = Channel(1700000051, "Fenced", username="fencedcalls")
    r = rig(GroupSpec(chats=["@fencedcalls"]))
    r.api.usernames["fencedcalls"] = alpha.info
    tick = asyncio.Event()

    async def renew_when_told(_: float) -> None:
        await tick.wait()
        tick.clear()

    r.start(lease_sleep=renew_when_told)
    await r.live()
    await redis.set(keys.session_lease(r.session), b'{"group": "intruder"}')
    tick.set()  # time to renew
    assert r.task is not None
    with pytest.raises(LeaseLost, match="expired or was taken over"):
        await asyncio.wait_for(r.task, 10)
    assert ("disconnect",) in r.api.calls  # it let go of Telegram
    assert await redis.get(keys.session_lease(r.session)) == b'{"group": "intruder"}'
