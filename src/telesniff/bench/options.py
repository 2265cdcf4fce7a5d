"""What a bench run is asked to do, and the figures it reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

Phase = Literal["throughput", "burst", "latency"]
PHASES: Final[tuple[Phase, ...]] = ("throughput", "burst", "latency")


class OptionsError(ValueError):
    """An option that cannot be used; the message names it."""


@dataclass(frozen=True)
class BenchOptions:
    rate: float = 1000.0  # latency phase: offered messages per second
    duration: float = 10.0  # seconds per throughput step and for the latency phase
    ws_clients: int = 100
    consumers: tuple[int, ...] = (1,)  # throughput is measured with each count in turn
    burst: int = 10_000
    phases: tuple[Phase, ...] = PHASES
    redis_url: str | None = None
    database_url: str | None = None
    postgres: bool = False
    max_backlog: int = 25_000  # throughput: the listener pauses past this many unacked entries
    client_processes: int | None = None  # None: one per 50 clients, at most 4

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise OptionsError("--rate must be more than 0")
        if self.duration <= 0:
            raise OptionsError("--duration must be more than 0")
        if self.ws_clients < 0:
            raise OptionsError("--ws-clients cannot be negative")
        if not self.consumers or min(self.consumers) < 1:
            raise OptionsError("--consumers takes counts of 1 or more, e.g. 1 or 1,2,4")
        if self.burst < 1:
            raise OptionsError("--burst must be at least 1")
        if self.postgres and self.database_url:
            raise OptionsError("--postgres and --database-url exclude each other")
        if not self.phases:
            raise OptionsError("--phases names at least one of throughput, burst, latency")

    def client_split(self) -> list[int]:
        """How many WebSocket clients each client process opens."""
        if self.ws_clients == 0:
            return []
        processes = self.client_processes or min(4, max(1, -(-self.ws_clients // 50)))
        processes = min(processes, self.ws_clients)
        base, extra = divmod(self.ws_clients, processes)
        return [base + (1 if n < extra else 0) for n in range(processes)]


def parse_phases(text: str) -> tuple[Phase, ...]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in PHASES]
    if unknown:
        raise OptionsError(f"--phases: unknown {', '.join(unknown)}; use {', '.join(PHASES)}")
    return tuple(phase for phase in PHASES if phase in names)


def parse_counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise OptionsError(f"--consumers: expected counts like 1 or 1,2,4, got {text!r}") from None
    if not counts or min(counts) < 1:
        raise OptionsError(f"--consumers: expected counts of 1 or more, got {text!r}")
    return counts


@dataclass
class Results:
    """Everything measured; ``to_json`` is the ``--json`` object."""

    options: BenchOptions
    database: str = ""
    redis: str = ""
    throughput: list[dict[str, Any]] = field(default_factory=list)
    burst: dict[str, Any] | None = None
    latency: dict[str, Any] | None = None
    rss_peak: dict[str, float] = field(default_factory=dict)
    rss_steady: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    machine: dict[str, dict[str, float]] = field(default_factory=dict)  # "start", "end"

    def to_json(self) -> dict[str, Any]:
        options = self.options
        first = self.throughput[0]["persisted_per_s"] if self.throughput else None
        latency = None
        if self.latency is not None:
            latency = {key: self.latency[key] for key in ("p50", "p99", "max")}
        return {
            "throughput_msgs_per_s": first,
            "throughput_by_consumers": {
                str(step["consumers"]): step["persisted_per_s"] for step in self.throughput
            },
            "burst_10k_s": self.burst["seconds"] if self.burst else None,
            "latency_ms": latency,
            "rss_mb": self.rss_peak,
            "rss_steady_mb": self.rss_steady,
            "ws_clients": options.ws_clients,
            "database": self.database,
            "redis": self.redis,
            "params": {
                "rate": options.rate,
                "duration": options.duration,
                "ws_clients": options.ws_clients,
                "consumers": list(options.consumers),
                "burst": options.burst,
                "phases": list(options.phases),
                "max_backlog": options.max_backlog,
                "client_processes": len(options.client_split()),
            },
            "details": {
                "throughput": self.throughput,
                "burst": self.burst,
                "latency": self.latency,
            },
            "machine": self.machine,
            "notes": self.notes,
            "elapsed_s": round(self.elapsed_s, 1),
        }
