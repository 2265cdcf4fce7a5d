"""Prometheus metrics of one gateway, in its own registry (several apps can share a process).

The gateway's ``/metrics`` serves that registry followed by the process-wide
default one: the process and Python collectors, and in ``telesniff dev`` (one
process) the listener's and the consumer's metrics too.  A registry passed in
explicitly is served as it is.

Labels are bounded: ``route`` is the matched route's template (never the raw
path), ``method`` one of a fixed set, ``status`` an HTTP status code, ``reason``
one of a few drop reasons.  Tokens, client addresses and filters never appear.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from telesniff import observability

# In the default registry with the process collectors; imported for that.
BUILD_INFO: Final = observability.BUILD_INFO

_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# Why the hub disconnects a client (hub.py); created at zero so rates exist before the first.
DROP_REASONS: Final = ("slow", "feed_interrupted")


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else observability.ComponentRegistry()
        self.ws_clients = Gauge(
            "telesniff_gateway_ws_clients",
            "Connected WebSocket clients.",
            registry=self.registry,
        )
        self.sent = Tally()
        self.registry.register(_TallyCollector(self.sent))
        self.clients_dropped = Counter(
            "telesniff_gateway_clients_dropped",
            "WebSocket clients disconnected by the gateway, by reason.",
            ["reason"],
            registry=self.registry,
        )
        for reason in DROP_REASONS:
            self.clients_dropped.labels(reason)
        self.live_batches = Counter(
            "telesniff_gateway_live_batches",
            "Batches received on the live channel.",
            registry=self.registry,
        )
        self.live_skipped = Counter(
            "telesniff_gateway_live_entries_skipped",
            "Live-channel entries that could not be decoded and were skipped.",
            registry=self.registry,
        )
        self.http_duration = Histogram(
            "telesniff_gateway_http_request_duration_seconds",
            "HTTP request duration by route template, method and status.",
            ["route", "method", "status"],
            buckets=_BUCKETS,
            registry=self.registry,
        )


class Tally:
    """Per-send counters as plain integers: the fan-out path takes no lock per message."""

    __slots__ = ("detections", "messages")

    def __init__(self) -> None:
        self.messages = 0
        self.detections = 0

    def add(self, detections: int) -> None:
        self.messages += 1
        self.detections += detections

    def add_many(self, messages: int, detections: int) -> None:
        self.messages += messages
        self.detections += detections


class _TallyCollector(Collector):
    def __init__(self, tally: Tally) -> None:
        self.tally = tally

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "telesniff_gateway_messages_sent",
            "WebSocket messages sent to clients (detections and control messages).",
            value=self.tally.messages,
        )
        yield CounterMetricFamily(
            "telesniff_gateway_detections_sent",
            "Detections delivered to WebSocket clients (once per client that received it).",
            value=self.tally.detections,
        )


class HTTPMetricsMiddleware:
    """Times HTTP requests, labelled by the matched route's template (never the raw path)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unmatched>"
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            self.metrics.http_duration.labels(template, method, str(status)).observe(
                time.perf_counter() - started
            )
