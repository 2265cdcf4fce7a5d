"""Regression guard: a short ``telesniff bench`` completes, reports sane figures, cleans up.

Never a timing threshold (benchmarks print numbers, tests do not time them): every
figure must be present, positive and consistent, and nothing the run started may
outlive it, also when it is interrupted with Ctrl-C.
"""

from __future__ import annotations

import json
import math
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from telesniff.bench.options import BenchOptions, Results
from telesniff.bench.report import table

SHORT = [
    "--duration", "1.5", "--ws-clients", "6", "--client-processes", "2", "--consumers", "1,2",
    "--burst", "600", "--rate", "200",
]  # fmt: skip


def bench(*args: str) -> list[str]:
    return [sys.executable, "-m", "telesniff", "bench", *args]


def work_dir(stderr: str) -> Path:
    found = re.search(r"work dir (\S+)", stderr)
    assert found, stderr
    return Path(found.group(1))


def processes_using(directory: Path) -> list[int]:
    """Processes whose environment or command line mentions the run's work directory."""
    needle = str(directory).encode()
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            seen = (proc / "environ").read_bytes() + (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in seen:
            found.append(int(proc.name))
    return found


def positive(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def test_short_bench_reports_sane_figures_and_cleans_up() -> None:
    run = subprocess.run(bench(*SHORT, "--json"), capture_output=True, text=True, timeout=280)
    assert run.returncode == 0, run.stderr[-4000:]
    report = json.loads(run.stdout)

    assert positive(report["throughput_msgs_per_s"])
    assert set(report["throughput_by_consumers"]) == {"1", "2"}
    assert all(positive(rate) for rate in report["throughput_by_consumers"].values())
    assert positive(report["burst_10k_s"])
    burst = report["details"]["burst"]
    assert burst["count"] == 600
    assert positive(burst["stored_s"])
    assert positive(burst["delivered_s"])
    assert report["burst_10k_s"] == max(burst["stored_s"], burst["delivered_s"])
    latency = report["latency_ms"]
    assert all(positive(latency[key]) for key in ("p50", "p99", "max"))
    assert latency["p50"] <= latency["p99"] <= latency["max"]
    assert report["details"]["latency"]["samples"] == 6 * 300  # every client, every message
    assert set(report["rss_mb"]) == {"listener", "consumer", "gateway"}
    assert all(positive(mb) for mb in report["rss_mb"].values())
    assert report["ws_clients"] == 6
    assert report["database"] == "sqlite"
    assert report["params"]["consumers"] == [1, 2]
    assert report["params"]["phases"] == ["throughput", "burst", "latency"]
    for step in report["details"]["throughput"]:
        assert step["stored"] == step["messages"] > 0  # every message reached the database

    directory = work_dir(run.stderr)
    assert not directory.exists()
    assert processes_using(directory) == []


def test_the_table_names_the_published_figures() -> None:
    results = Results(BenchOptions(ws_clients=3, phases=("burst",)), database="sqlite")
    results.burst = {"count": 300, "seconds": 0.5, "stored_s": 0.4, "delivered_s": 0.5}
    results.rss_peak = {"listener": 50.0, "consumer": 60.0, "gateway": 70.0}
    text = table(results)
    assert "Go+Redis+Node (published)" in text
    assert "8.2 s (1,219 msgs/s)" in text
    assert "burst of 300" in text
    assert "50 / 60 / 70" in text


def test_bad_options_are_named() -> None:
    run = subprocess.run(bench("--phases", "speed"), capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "--phases: unknown speed" in run.stderr


def test_ctrl_c_stops_everything_it_started() -> None:
    process = subprocess.Popen(
        bench("--duration", "60", "--ws-clients", "2", "--phases", "throughput"),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + 120
    for line in process.stderr:
        lines.append(line)
        if "throughput with" in line or time.monotonic() > deadline:
            break
    directory = work_dir("".join(lines))
    time.sleep(1.0)  # mid-phase: listener, consumer and gateway are all busy
    assert processes_using(directory), "the run's processes should be up"
    process.send_signal(signal.SIGINT)
    try:
        rest = process.communicate(timeout=60)[1]
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("bench did not stop within 60 s of Ctrl-C")
    assert process.returncode == 130, rest[-4000:]
    assert "interrupted" in rest
    assert not directory.exists()
    assert processes_using(directory) == []
