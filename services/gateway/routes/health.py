"""``/healthz`` (alive), ``/readyz`` (Redis, database, live subscription) and ``/metrics``."""

from __future__ import annotations

import asyncio
from typing import Final

from fastapi import APIRouter, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from telesniff.db.queries import ping
from telesniff.gateway.deps import GatewayDep, JSONBytes
from telesniff.gateway.schemas import ReadyOut

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_S: Final = 2.0


@router.get("/healthz")
async def healthz() -> JSONBytes:
    return JSONBytes({"status": "ok"})


@router.get("/readyz", response_model=ReadyOut, responses={503: {"model": ReadyOut}})
async def readyz(gateway: GatewayDep) -> JSONBytes:
    runtime = gateway.runtime
    if runtime is None:
        checks = {"redis": "not started", "database": "not started", "live": "not started"}
    else:
        checks = {}
        try:
            await asyncio.wait_for(runtime.redis.ping(), CHECK_TIMEOUT_S)
            checks["redis"] = "ok"
        except Exception as error:  # any failure means not ready; report its type only
            checks["redis"] = f"failed: {type(error).__name__}"
        try:
            await asyncio.wait_for(ping(runtime.database), CHECK_TIMEOUT_S)
            checks["database"] = "ok"
        except Exception as error:
            checks["database"] = f"failed: {type(error).__name__}"
        checks["live"] = "ok" if runtime.hub.subscribed else "failed: not subscribed"
    failed = [name for name, result in checks.items() if result != "ok"]
    if failed:
        return JSONBytes(
            {"status": "unready", "failed": failed, "checks": checks},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    return JSONBytes({"status": "ready", "failed": [], "checks": checks})


@router.get("/metrics", include_in_schema=False)
async def metrics(gateway: GatewayDep) -> Response:
    return Response(generate_latest(gateway.metrics.registry), media_type=CONTENT_TYPE_LATEST)
