"""``/healthz`` and Prometheus ``/metrics`` for a standalone listener, on plain asyncio.

``/healthz`` answers 200 while the event loop runs, with the Telegram state
in the body.  It is a liveness check on purpose: restarting a listener that
waits out a FLOOD_WAIT or a network outage helps nothing (and a restart
during FLOOD_WAIT only earns a longer one), so being disconnected is shown,
not failed.  Scrape ``telesniff_listener_connected`` to alert on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

log = logging.getLogger(__name__)

_READ_TIMEOUT: Final = 5.0


def _response(status: str, content_type: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class HealthServer:
    def __init__(self, status: Callable[[], dict[str, Any]]) -> None:
        self._status = status

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT)
            method, target, *_ = request.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            path = target.split("?", 1)[0]
            if method not in {"GET", "HEAD"}:
                response = _response("405 Method Not Allowed", "text/plain", b"")
            elif path == "/metrics":
                response = _response("200 OK", CONTENT_TYPE_LATEST, generate_latest(REGISTRY))
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
        log.info("listener health and metrics on http://%s:%d/ (/healthz, /metrics)", host, bound)
        try:
            yield bound
        finally:
            server.close()
            await server.wait_closed()
