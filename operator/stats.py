"""The listener's counters, read from the Redis hash it maintains per group."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from telesniff.operator import resources as r
from telesniff.operator.status import Counters

log = logging.getLogger(__name__)


def parse_counters(fields: Mapping[Any, Any]) -> Counters | None:
    """Counters from HGETALL (bytes or str keys); None when the listener has not
    written any yet."""
    if not fields:
        return None
    text = {
        (key.decode() if isinstance(key, bytes) else str(key)): value
        for key, value in fields.items()
    }

    def number(name: str) -> float | None:
        try:
            return float(text[name])
        except (KeyError, TypeError, ValueError):
            return None

    last = number("last_message_at")
    return Counters(
        messages=int(number("messages") or 0),
        detections=int(number("detections") or 0),
        last_message_at=last if last and last > 0 else None,
    )


class StatsReader:
    """Optional: without a Redis URL there are no counters, and status omits them."""

    def __init__(self, url: str | None) -> None:
        self._client: aioredis.Redis | None = (
            aioredis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
            if url
            else None
        )

    @property
    def enabled(self) -> bool:
        return self._client is not None

    async def read(self, group: str) -> Counters | None:
        if self._client is None:
            return None
        try:
            fields = await self._client.hgetall(r.stats_key(group))
        except (RedisError, OSError) as error:
            # Counters are informative; an unreachable Redis must not fail reconciling.
            log.warning("cannot read counters of %s from Redis: %s", group, error)
            return None
        return parse_counters(fields)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
