"""``GET /api/stats``: totals from the database, stream and consumer-group state, clients."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from telesniff.db.queries import detection_totals
from telesniff.gateway.deps import Authorized, DatabaseDep, HubDep, JSONBytes, RedisDep, SettingsDep
from telesniff.gateway.schemas import Problem, StatsOut
from telesniff.settings import Settings

router = APIRouter(prefix="/api", tags=["stats"], dependencies=[Authorized])


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def stream_state(redis: Redis, settings: Settings) -> dict[str, Any] | None:
    """XLEN and XINFO GROUPS (both O(1) per group); None when Redis cannot be reached."""
    try:
        length = int(await redis.xlen(settings.stream))
        try:
            groups = await redis.xinfo_groups(settings.stream)
        except ResponseError:  # the stream does not exist yet
            groups = []
    except (RedisError, OSError):
        return None
    group = next((g for g in groups if _text(g.get("name")) == settings.consumer_group), None)
    return {
        "name": settings.stream,
        "length": length,
        "consumer_group": None
        if group is None
        else {
            "name": settings.consumer_group,
            "pending": int(group.get("pending") or 0),
            "lag": None if group.get("lag") is None else int(group["lag"]),
            "consumers": int(group.get("consumers") or 0),
            "last_delivered_id": _text(group.get("last-delivered-id", "0-0")),
        },
    }


@router.get("/stats", response_model=StatsOut, responses={401: {"model": Problem}})
async def stats(
    settings: SettingsDep, database: DatabaseDep, redis: RedisDep, hub: HubDep
) -> JSONBytes:
    now = time.time()
    totals = await detection_totals(database, now)
    return JSONBytes(
        {
            "time": now,
            "detections": {
                "total": totals["detections"],
                "last_hour": totals["last_hour"],
                "by_kind": totals["by_kind"],
                "by_group": totals["by_group"],
            },
            "stream": await stream_state(redis, settings),
            "websocket": {
                "clients": hub.count,
                "dropped": dict(hub.dropped),
                "dropped_total": sum(hub.dropped.values()),
            },
        }
    )
