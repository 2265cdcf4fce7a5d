"""The operator's Prometheus metrics, served on their own port."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from telesniff import observability

PHASES = ("Pending", "Running", "Suspended", "Failed")


class OperatorMetrics:
    """One set per process; a registry of its own keeps tests independent."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else observability.ComponentRegistry()
        self.reconciles = Counter(
            "telesniff_operator_reconciles_total",
            "ChatGroup reconciliations, by result (ok, invalid, blocked, error).",
            ["result"],
            registry=self.registry,
        )
        self.errors = Counter(
            "telesniff_operator_errors_total",
            "Errors in the operator's handlers (API, Redis, unexpected).",
            registry=self.registry,
        )
        self.chatgroups = Gauge(
            "telesniff_operator_chatgroups",
            "ChatGroups seen by this operator, by status phase.",
            ["phase"],
            registry=self.registry,
        )
        self.rejections = Counter(
            "telesniff_operator_webhook_rejections_total",
            "ChatGroups refused at admission, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self._phases: dict[tuple[str, str], str] = {}
        for phase in PHASES:
            self.chatgroups.labels(phase=phase).set(0)

    def observe_group(self, namespace: str, name: str, phase: str | None) -> None:
        """Track a group's phase as its status says; None forgets it (deleted)."""
        key = (namespace, name)
        if phase is None:
            self._phases.pop(key, None)
        else:
            self._phases[key] = phase
        self._publish(self._phases)

    def _publish(self, phases: Mapping[tuple[str, str], str]) -> None:
        counts = dict.fromkeys(PHASES, 0)
        for phase in phases.values():
            counts[phase] = counts.get(phase, 0) + 1
        for phase, count in counts.items():
            self.chatgroups.labels(phase=phase).set(count)

    def serve(self, addr: str, port: int) -> int:
        """Start the HTTP endpoint (a daemon thread); returns the bound port."""
        server, _thread = start_http_server(port, addr=addr, registry=self.registry)
        return int(server.server_port)
