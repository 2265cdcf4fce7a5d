"""The gateway's runtime state and its FastAPI dependencies, as ``Annotated`` aliases."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, cast

import orjson
from fastapi import Depends, HTTPException, status
from fastapi.responses import Response
from redis.asyncio import Redis
from starlette.requests import HTTPConnection

from telesniff.db.reader import Reader
from telesniff.gateway.auth import bearer_from_header, token_matches
from telesniff.gateway.hub import Hub
from telesniff.gateway.metrics import Metrics
from telesniff.gateway.resume import StreamReader
from telesniff.settings import Settings


class JSONBytes(Response):
    """JSON rendered by orjson (the gateway's only JSON response)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


@dataclass
class Runtime:
    """What the lifespan opens: set while the app is serving."""

    redis: Redis
    database: Reader
    hub: Hub
    reader: StreamReader


@dataclass
class Gateway:
    settings: Settings
    tokens: tuple[bytes, ...]
    origins: frozenset[str]
    metrics: Metrics
    runtime: Runtime | None = field(default=None)

    @property
    def live(self) -> Runtime:
        if self.runtime is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "gateway is starting")
        return self.runtime


def get_gateway(connection: HTTPConnection) -> Gateway:
    return cast(Gateway, connection.app.state.gateway)


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


def get_settings(gateway: GatewayDep) -> Settings:
    return gateway.settings


def get_redis(gateway: GatewayDep) -> Redis:
    return gateway.live.redis


def get_database(gateway: GatewayDep) -> Reader:
    return gateway.live.database


def get_hub(gateway: GatewayDep) -> Hub:
    return gateway.live.hub


SettingsDep = Annotated[Settings, Depends(get_settings)]
RedisDep = Annotated[Redis, Depends(get_redis)]
DatabaseDep = Annotated[Reader, Depends(get_database)]
HubDep = Annotated[Hub, Depends(get_hub)]


def require_token(connection: HTTPConnection, gateway: GatewayDep) -> None:
    """401 unless tokens are off or the request carries a configured bearer token."""
    if not gateway.tokens:
        return
    presented = bearer_from_header(connection.headers.get("authorization"))
    if presented is None:
        reason = "missing bearer token (Authorization: Bearer <token>)"
    elif not token_matches(presented, gateway.tokens):
        reason = "invalid bearer token"
    else:
        return
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED, reason, headers={"WWW-Authenticate": "Bearer"}
    )


Authorized = Depends(require_token)
