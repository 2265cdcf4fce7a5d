"""The gateway application: ``create_app(settings)`` and its lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Final

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from starlette.exceptions import HTTPException as StarletteHTTPException

from telesniff import __version__, broker
from telesniff.db.driver import StoreError
from telesniff.db.reader import Reader
from telesniff.gateway.auth import normalize_origins, token_bytes
from telesniff.gateway.deps import Gateway, JSONBytes, Runtime
from telesniff.gateway.filters import FilterError
from telesniff.gateway.hub import GOING_AWAY, Hub
from telesniff.gateway.metrics import HTTPMetricsMiddleware, Metrics
from telesniff.gateway.resume import StreamReader
from telesniff.gateway.routes import addresses, detections, health, stats
from telesniff.gateway.ws import router as ws_router
from telesniff.settings import Settings

log = logging.getLogger(__name__)

STATIC_DIR: Final = Path(__file__).with_name("static")
SUBSCRIBE_WAIT_S: Final = 5.0

_PLACEHOLDER: Final = """<!doctype html>
<html lang="en"><meta charset="utf-8"><title>telesniff gateway</title>
<body><h1>telesniff gateway</h1>
<p>The dashboard page is not installed (no <code>static/index.html</code>).
The API is up: <a href="/api/detections">/api/detections</a>,
<a href="/api/stats">/api/stats</a>, WebSocket <code>/ws</code>; see docs/api.md.</p>
</body></html>
"""


class GatewayConfigError(ValueError):
    pass


def create_app(
    settings: Settings,
    *,
    redis: Redis | None = None,
    database: Reader | None = None,
    registry: CollectorRegistry | None = None,
) -> FastAPI:
    """The gateway as an ASGI app.

    ``redis`` (a ``redis.asyncio.Redis`` with ``decode_responses=False``) and ``database``
    (a ``telesniff.db.reader.Reader``) are used as given and left open; otherwise the
    lifespan opens them from ``settings.redis_url`` / ``settings.database_url_or_default()``
    and closes them.  Either way the schema is migrated on start if it is behind (the
    only time SQLAlchemy and alembic are imported).
    ``registry`` is where the metrics go (a fresh registry when omitted).
    """
    if redis is None and not settings.redis_url:
        raise GatewayConfigError("TELESNIFF_REDIS_URL: required by the gateway")
    gateway = Gateway(
        settings=settings,
        tokens=token_bytes(settings.api_tokens),
        origins=normalize_origins(settings.allowed_origins),
        metrics=Metrics(registry),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_redis = redis is None
        own_database = database is None
        client = (
            redis
            if redis is not None
            else broker.connect(str(settings.redis_url), name="telesniff-gateway")
        )
        store = (
            database
            if database is not None
            else Reader.from_url(settings.database_url_or_default())
        )
        hub_task: asyncio.Task[None] | None = None
        try:
            await store.database.ensure_schema()
            await store.open()
            hub = Hub(client, settings.live_channel, gateway.metrics)
            hub_task = asyncio.create_task(hub.run(), name="telesniff-gateway-hub")
            if not await hub.wait_subscribed(SUBSCRIBE_WAIT_S):
                log.warning("live channel not subscribed yet; /readyz reports it")
            gateway.runtime = Runtime(
                redis=client,
                database=store,
                hub=hub,
                reader=StreamReader(client, settings.stream),
            )
            yield
            hub.close_all(*GOING_AWAY)
        finally:
            gateway.runtime = None
            if hub_task is not None:
                hub_task.cancel()
                with suppress(asyncio.CancelledError):
                    await hub_task
            if own_redis:
                await client.aclose()
            if own_database:
                await store.close()

    app = FastAPI(
        title="telesniff gateway",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.gateway = gateway
    _install_error_handlers(app)
    for module in (detections, stats, addresses, health):
        app.include_router(module.router)
    app.include_router(ws_router)
    _install_page(app)
    if gateway.origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=sorted(gateway.origins),
            allow_methods=["GET"],
            allow_headers=["Authorization"],
            max_age=600,
        )
    app.add_middleware(HTTPMetricsMiddleware, metrics=gateway.metrics)
    return app


def _install_page(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        page = STATIC_DIR / "index.html"
        if page.is_file():
            return FileResponse(page, headers={"Cache-Control": "no-cache"})
        return HTMLResponse(_PLACEHOLDER)

    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


def _install_error_handlers(app: FastAPI) -> None:
    """Every error is ``{"detail": "<reason>"}`` (FastAPI's validation list is flattened)."""

    @app.exception_handler(FilterError)
    async def filter_error(_request: Request, error: FilterError) -> JSONBytes:
        return JSONBytes({"detail": str(error)}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, error: RequestValidationError) -> JSONBytes:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'][1:]) or 'request'}: {problem['msg']}"
            for problem in error.errors()
        )
        return JSONBytes({"detail": problems}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(StoreError)
    async def store_error(_request: Request, error: StoreError) -> JSONBytes:
        # The cause is logged here; the client learns only that the store is unavailable.
        log.error("database: %s", error)
        return JSONBytes(
            {"detail": "database unavailable"}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONBytes:
        return JSONBytes(
            {"detail": error.detail}, status_code=error.status_code, headers=error.headers
        )
