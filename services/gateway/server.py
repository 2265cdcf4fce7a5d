"""Running the gateway under uvicorn: uvloop and httptools when installed, no access log."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
from typing import Any

import uvicorn

from telesniff import observability, runtime, serving
from telesniff.gateway.app import create_app
from telesniff.gateway.rawsend import RawSendProtocol
from telesniff.settings import Settings

log = logging.getLogger(__name__)


def uvicorn_config(settings: Settings, app: Any | None = None, **overrides: Any) -> uvicorn.Config:
    """The uvicorn configuration the gateway runs with (``app`` defaults to create_app)."""
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        "http": "httptools" if importlib.util.find_spec("httptools") else "h11",
        # uvicorn's websockets-sansio, plus the raw writer the live fan-out uses.
        "ws": RawSendProtocol,
        # Compressing each frame once per client costs more CPU than the bandwidth saves
        # on the fan-out path; detections are small JSON.
        "ws_per_message_deflate": False,
        "lifespan": "on",
        "log_level": settings.log_level.lower(),
        "access_log": False,
        "server_header": False,
        "timeout_graceful_shutdown": 5,
    }
    options.update(overrides)
    return uvicorn.Config(app if app is not None else create_app(settings), **options)


def run(settings: Settings, *, access_log: bool = False) -> None:
    """Serve on uvloop until SIGINT/SIGTERM, then shut down cleanly (exit status 0).

    Signals are handled by ``telesniff.runtime`` like every other command; uvicorn's
    loggers propagate to the root logger it configured.  With ``metrics_port`` set,
    ``/metrics`` is also served there, where the chart's monitors scrape every
    component.
    """
    app = create_app(settings)
    config = uvicorn_config(settings, app, access_log=access_log, log_config=None, loop="none")

    async def _serve(stop: asyncio.Event) -> None:
        async with contextlib.AsyncExitStack() as stack:
            if settings.metrics_port is not None:
                metrics = observability.MetricsServer(
                    lambda: {"component": "gateway"},
                    component="gateway",
                    registry=app.state.gateway.metrics.registry,
                )
                await stack.enter_async_context(metrics.serve("0.0.0.0", settings.metrics_port))
            await serving.serve_until(serving.Server(config), stop)

    runtime.run(_serve)
