"""The human table: our figures beside the published ones of the Go + Redis + Node design."""

from __future__ import annotations

import math
from typing import Any, Final

from telesniff.bench.options import Results

# Published by the design this project replaces (docs/bench.md).
PUBLISHED: Final = {
    "burst": "8.2 s (1,219 msgs/s)",
    "latency": "avg 7 / max 23",
    "rss": "78 (Go listener) / 145 (Node consumer)",
}


def _number(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    """p50, p99, max and mean of latencies in milliseconds (nearest-rank percentiles)."""
    ordered = sorted(samples_ms)
    count = len(ordered)

    def rank(fraction: float) -> float:
        return ordered[min(count - 1, max(0, math.ceil(fraction * count) - 1))]

    return {
        "p50": round(rank(0.50), 3),
        "p99": round(rank(0.99), 3),
        "max": round(ordered[-1], 3),
        "mean": round(sum(ordered) / count, 3),
    }


def table(results: Results) -> str:
    data = results.to_json()
    rows: list[tuple[str, str, str]] = []
    for step in results.throughput:
        consumers = step["consumers"]
        label = f"throughput, {consumers} consumer{'s' if consumers > 1 else ''} (msgs/s stored)"
        rows.append((label, _number(step["persisted_per_s"]), "-"))
        rows.append(("  offered by the listener (msgs/s)", _number(step["offered_per_s"]), ""))
    if results.burst is not None:
        burst = results.burst
        rows.append((
            f"burst of {burst['count']:,}: stored and delivered (s)",
            _number(burst["seconds"], 3), PUBLISHED["burst"],
        ))  # fmt: skip
        rows.append(("  all stored (s)", _number(burst["stored_s"], 3), ""))
        rows.append(("  delivered to every client (s)", _number(burst["delivered_s"], 3), ""))
    if results.latency is not None:
        latency = results.latency
        rows.append((
            f"latency at {latency['rate']:,.0f} msgs/s, p50 / p99 / max (ms)",
            f"{latency['p50']:.2f} / {latency['p99']:.2f} / {latency['max']:.2f}",
            PUBLISHED["latency"],
        ))  # fmt: skip
        rows.append(("  mean (ms), samples", f"{latency['mean']:.2f}, {latency['samples']:,}", ""))
    roles = ("listener", "consumer", "gateway")
    peak = data["rss_mb"]
    if peak:
        rows.append((
            "peak RSS listener / consumer / gateway (MB)",
            " / ".join(_number(peak.get(name)) for name in roles),
            PUBLISHED["rss"],
        ))  # fmt: skip
    steady = data["rss_steady_mb"]
    if steady:
        rows.append((
            "  steady RSS at the end (MB)",
            " / ".join(_number(steady.get(name)) for name in roles),
            "",
        ))  # fmt: skip
    width = max(len(row[0]) for row in rows) if rows else 10
    middle = max([len(row[1]) for row in rows] + [4])
    head = (
        f"telesniff bench: {results.redis}, {results.database}, "
        f"{results.options.ws_clients} WebSocket clients, {results.elapsed_s:.0f} s"
    )
    lines = [head, "", f"{'':<{width}}  {'ours':>{middle}}  Go+Redis+Node (published)"]
    lines += [
        f"{label:<{width}}  {ours:>{middle}}  {theirs}".rstrip() for label, ours, theirs in rows
    ]
    lines += [f"note: {note}" for note in results.notes]
    return "\n".join(lines)
