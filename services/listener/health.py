"""``/healthz`` and ``/metrics`` for a standalone listener: the shared server, named for it.

``/healthz`` answers 200 while the event loop runs, with the Telegram state
in the body.  It is a liveness check on purpose: restarting a listener that
waits out a FLOOD_WAIT or a network outage helps nothing (and a restart
during FLOOD_WAIT only earns a longer one), so being disconnected is shown,
not failed.  Scrape ``telesniff_listener_connected`` to alert on it.
The server itself lives in ``telesniff.observability`` (the consumer uses it too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telesniff.observability import MetricsServer


class HealthServer(MetricsServer):
    def __init__(self, status: Callable[[], dict[str, Any]]) -> None:
        super().__init__(status, component="listener")
