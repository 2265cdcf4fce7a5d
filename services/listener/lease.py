"""The session fence: at most one process uses a Telegram session at a time.

Telegram revokes an authorization key that is used from two connections at
once, so a second listener on the same session must refuse to start.  The
StatefulSet (one replica) is the first fence; this lease in Redis is the
second, for a stray ``telesniff listener`` on a laptop or a stuck pod.

``SET key value NX PX ttl`` takes it; a Lua compare-and-expire renews it only
while the value is still ours; a compare-and-delete releases it.  The value
names the holder (group, host, pid, start time, a random token) and nothing
secret; the key is a digest of the session (see ``telesniff.keys``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

import orjson
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from telesniff import keys

log = logging.getLogger(__name__)

_RENEW: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class LeaseHeld(RuntimeError):
    """Another process holds the session; the message names it."""


class LeaseLost(RuntimeError):
    """The lease expired or was taken over while this process ran."""


@dataclass(frozen=True, slots=True)
class Holder:
    group: str
    host: str
    pid: int
    since: float
    token: str

    def describe(self) -> str:
        started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.since))
        return (
            f"listener for group {self.group!r} on host {self.host} (pid {self.pid}), "
            f"since {started}"
        )


def _parse_holder(raw: bytes | str | None) -> str:
    if raw is None:
        return "a listener whose lease just expired"
    try:
        fields = orjson.loads(raw)
        return Holder(**fields).describe()
    except (orjson.JSONDecodeError, TypeError, ValueError):
        return "an unknown holder"


class SessionLease:
    def __init__(self, client: aioredis.Redis, session: str, *, group: str, ttl_s: float) -> None:
        self._client = client
        self._key = keys.session_lease(session)
        self._ttl_ms = int(ttl_s * 1000)
        self.holder = Holder(
            group=group,
            host=socket.gethostname(),
            pid=os.getpid(),
            since=time.time(),
            token=secrets.token_hex(16),
        )
        self._value = orjson.dumps(self.holder)

    @property
    def key(self) -> str:
        return self._key

    async def acquire(self) -> None:
        """Take the lease or raise LeaseHeld naming whoever has it."""
        if await self._client.set(self._key, self._value, nx=True, px=self._ttl_ms):
            log.info("session lease taken (%s)", self._key)
            return
        other = await self._client.get(self._key)
        raise LeaseHeld(
            f"this Telegram session is already in use by {_parse_holder(other)}; "
            "a session used by two processes at once gets revoked by Telegram, so this "
            f"listener will not start (the lease {self._key} expires "
            f"{self._ttl_ms / 1000:g}s after its holder stops renewing it)"
        )

    async def renew(self) -> None:
        """Extend the lease; raise LeaseLost when it is no longer ours."""
        renewed = await self._client.eval(_RENEW, 1, self._key, self._value, self._ttl_ms)
        if not renewed:
            raise LeaseLost(
                f"the session lease {self._key} expired or was taken over; "
                "stopping so the session is not used twice"
            )

    async def keep(self, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        """Renew every third of the TTL until cancelled; raise LeaseLost if it is lost.

        A Redis outage shorter than the TTL is ridden out; a longer one means
        another process may have taken the lease, which the next renewal sees.
        """
        interval = self._ttl_ms / 3000
        while True:
            await sleep(interval)
            try:
                await self.renew()
            except (RedisConnectionError, RedisTimeoutError, OSError) as error:
                log.warning("could not renew the session lease (%s); retrying", error)

    async def release(self) -> None:
        try:
            await self._client.eval(_RELEASE, 1, self._key, self._value)
        except (RedisConnectionError, RedisTimeoutError, OSError) as error:
            log.warning("could not release the session lease (%s); it expires on its own", error)
