"""``/healthz`` and Prometheus ``/metrics`` for the processes that have no web app of their own.

The listener and the consumer serve both on ``settings.metrics_port`` with
this small server on plain asyncio (no web framework to start, nothing to
import on the hot path).  ``/healthz`` answers 200 while the event loop runs,
with the process's state in the body: it is a liveness check on purpose
(restarting a listener that waits out a FLOOD_WAIT, or a consumer waiting
for its database, helps nothing).  The state to alert on is in the metrics.

``/metrics`` serves the default registry, which carries the process and
Python collectors (memory, CPU, open fds, GC) and ``telesniff_build_info``
next to the component's own metrics.  Bind it to all interfaces in a pod:
kubelet probes and Prometheus reach the pod IP.  Metrics carry nothing
secret (see docs/observability.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Final

import orjson
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Info,
    generate_latest,
)
from prometheus_client.core import Metric

from telesniff import __version__

log = logging.getLogger(__name__)

# One series per process (``telesniff_build_info{version="…"} 1``): dashboards join the
# process collectors' series on it to show telesniff's processes only.
BUILD_INFO: Final = Info("telesniff_build", "The telesniff version this process runs.")
BUILD_INFO.info({"version": __version__})

_READ_TIMEOUT: Final = 5.0


class ComponentRegistry(CollectorRegistry):
    """A component's own metrics, then everything in the process-wide default registry.

    Components keep private registries so tests (and several apps in one
    process) stay independent; scraping one still shows the process and
    Python collectors and ``telesniff_build_info``.
    """

    def collect(self) -> Iterator[Metric]:
        yield from super().collect()
        yield from REGISTRY.collect()


def _response(status: str, content_type: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class MetricsServer:
    """Serves ``/healthz`` (``{"status": "ok", **status()}``) and ``/metrics``."""

    def __init__(
        self,
        status: Callable[[], dict[str, Any]],
        *,
        component: str = "telesniff",
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self._status = status
        self._component = component
        self._registry = registry

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT)
            method, target, *_ = request.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            path = target.split("?", 1)[0]
            if method not in {"GET", "HEAD"}:
                response = _response("405 Method Not Allowed", "text/plain", b"")
            elif path == "/metrics":
                body = generate_latest(self._registry)
                response = _response("200 OK", CONTENT_TYPE_LATEST, body)
            elif path == "/healthz":
                body = orjson.dumps({"status": "ok", **self._status()})
                response = _response("200 OK", "application/json", body)
            else:
                response = _response("404 Not Found", "text/plain", b"not found\n")
            if method == "HEAD":
                response = response.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
            writer.write(response)
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                ConnectionError, ValueError):  # fmt: skip
            pass  # a broken or slow client; nothing to answer
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    @contextlib.asynccontextmanager
    async def serve(self, host: str, port: int) -> AsyncIterator[int]:
        """Serve while the context is open; yields the bound port (``port=0`` picks one)."""
        server = await asyncio.start_server(self._handle, host, port)
        bound = int(server.sockets[0].getsockname()[1])
        log.info(
            "%s health and metrics on http://%s:%d/ (/healthz, /metrics)",
            self._component,
            host,
            bound,
        )
        try:
            yield bound
        finally:
            server.close()
            await server.wait_closed()
