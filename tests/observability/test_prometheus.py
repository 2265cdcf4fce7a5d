"""Debian's Prometheus scraping a running pipeline: every dashboard query returns data.

Started here, not as a system service: ``telesniff dev`` (listeners on the demo
source, a consumer and the gateway in one process, all metrics on the gateway's
/metrics), a standalone ``telesniff consumer`` on the same embedded Valkey
(its own /metrics and /healthz), the operator's metrics object (the operator
itself needs Kubernetes), and Prometheus scraping them every second with the
chart's alert rules loaded.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import yaml

from tests.observability.common import (
    ALERT_FILES,
    ALLOWED_LABELS,
    LABEL_VALUES,
    SCRAPE_LABELS,
    alert_rules,
    dashboards,
    queries,
    substitute,
    variable_queries,
)
from tests.servers import free_port

pytestmark = pytest.mark.prometheus

GROUP = "demo-1"  # `telesniff dev` runs the demo source as ChatGroups demo-1 and demo-2
DATA_DEADLINE_S = 120.0


@dataclass(frozen=True)
class Pipeline:
    prometheus: str
    dev: str
    consumer: str
    valkey: str


def _poll(check: Callable[[], bool], timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            detail = f"\n--- {log}:\n{log.read_text()[-4000:]}" if log and log.exists() else ""
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}{detail}")
        time.sleep(0.1)


def _get_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _stop(process: subprocess.Popen[bytes], how: int = signal.SIGINT) -> None:
    if process.poll() is None:
        process.send_signal(how)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _start(argv: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)


def _websocket_client(url: str, stop: threading.Event) -> None:
    """One live-feed client for the duration, so the gateway's fan-out has work."""
    from websockets.sync.client import connect

    with contextlib.suppress(Exception), connect(url) as websocket:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                websocket.recv(timeout=0.5)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    prometheus = shutil.which("prometheus") or "/usr/bin/prometheus"
    if not Path(prometheus).exists():
        raise RuntimeError("prometheus is not installed; run `make test` (scripts/test-deps.sh)")
    tmp = tmp_path_factory.mktemp("observability")
    env = {key: value for key, value in os.environ.items() if not key.startswith("TELESNIFF_")}
    dev_port, consumer_port, operator_port, prometheus_port = (free_port() for _ in range(4))
    with contextlib.ExitStack() as stack:
        dev_log = tmp / "dev.log"
        dev = _start(
            [sys.executable, "-m", "telesniff", "dev", "--port", str(dev_port), "--rate", "200",
             "--data-dir", str(tmp / "dev")],
            dev_log, env,
        )  # fmt: skip
        stack.callback(_stop, dev)
        _poll(lambda: "metrics at http://" in dev_log.read_text(), 60, "telesniff dev", dev_log)
        assert f"metrics at http://127.0.0.1:{dev_port}/metrics" in dev_log.read_text()
        found = re.search(r"embedded Valkey server listening on (\S+)", dev_log.read_text())
        assert found, dev_log.read_text()
        valkey = found.group(1)

        consumer_log = tmp / "consumer.log"
        consumer_env = env | {
            "TELESNIFF_REDIS_URL": valkey,
            "TELESNIFF_METRICS_PORT": str(consumer_port),
            "TELESNIFF_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'consumer.db'}",
            "TELESNIFF_CONSUMER_NAME": "observability-standalone",
            "TELESNIFF_DATA_DIR": str(tmp / "consumer"),
        }
        consumer = _start([sys.executable, "-m", "telesniff", "consumer"], consumer_log,
                          consumer_env)  # fmt: skip
        stack.callback(_stop, consumer)
        consumer_url = f"http://127.0.0.1:{consumer_port}"
        _poll(lambda: _get_ok(f"{consumer_url}/healthz"), 60, "telesniff consumer", consumer_log)

        operator_log = tmp / "operator.log"
        operator = _start(
            [sys.executable, str(Path(__file__).with_name("operator_metrics.py")),
             str(operator_port)],
            operator_log, env,
        )  # fmt: skip
        stack.callback(_stop, operator, signal.SIGTERM)
        operator_url = f"http://127.0.0.1:{operator_port}/metrics"
        _poll(lambda: _get_ok(operator_url), 30, "operator metrics", operator_log)

        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                       "evaluation_interval": "1s"},
            "rule_files": [str(path) for path in ALERT_FILES],
            "scrape_configs": [
                {"job_name": name, "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
                for name, port in (("telesniff-dev", dev_port),
                                   ("telesniff-consumer", consumer_port),
                                   ("telesniff-operator", operator_port))
            ],
        }  # fmt: skip
        (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
        prometheus_log = tmp / "prometheus.log"
        server = _start(
            [prometheus, f"--config.file={tmp / 'prometheus.yml'}",
             f"--storage.tsdb.path={tmp / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{prometheus_port}", "--log.level=warn"],
            prometheus_log, env,
        )  # fmt: skip
        stack.callback(_stop, server, signal.SIGTERM)
        prometheus_url = f"http://127.0.0.1:{prometheus_port}"
        _poll(lambda: _get_ok(f"{prometheus_url}/-/ready"), 60, "prometheus", prometheus_log)

        stop_client = threading.Event()
        client = threading.Thread(
            target=_websocket_client, args=(f"ws://127.0.0.1:{dev_port}/ws", stop_client)
        )
        client.start()
        stack.callback(client.join, 10)
        stack.callback(stop_client.set)

        yield Pipeline(prometheus_url, f"http://127.0.0.1:{dev_port}", consumer_url, valkey)


def _api(pipeline: Pipeline, path: str, **params: Any) -> Any:
    response = httpx.get(f"{pipeline.prometheus}/api/v1/{path}", params=params, timeout=10)
    body = response.json()
    assert body["status"] == "success", (path, params, body)
    return body["data"]


def _has_data(result: list[dict[str, Any]]) -> bool:
    """Non-empty, with at least one number (histogram_quantile of nothing gives NaN)."""
    return any(math.isfinite(float(item["value"][1])) for item in result)


def _query_has_data(pipeline: Pipeline, expr: str) -> bool:
    return _has_data(_api(pipeline, "query", query=expr)["result"])


def _label_values(pipeline: Pipeline, query: str, variables: dict[str, str]) -> list[str]:
    found = LABEL_VALUES.match(substitute(query, variables))
    assert found, query
    data = _api(pipeline, f"label/{found['label']}/values", **{"match[]": found["match"]})
    return sorted(data)


def test_all_targets_are_scraped(pipeline: Pipeline) -> None:
    def all_up() -> bool:
        targets = _api(pipeline, "targets")["activeTargets"]
        return len(targets) == 3 and all(target["health"] == "up" for target in targets)

    _poll(all_up, 30, "every target up")


def test_every_dashboard_panel_query_returns_data(pipeline: Pipeline) -> None:
    # The variables first, as Grafana fills them in.
    group_board = dashboards()["telesniff-chatgroup.json"]
    variable = variable_queries(group_board)

    groups: list[str] = []
    chats: list[str] = []

    def variables_filled() -> bool:
        nonlocal groups, chats
        groups = _label_values(pipeline, variable["group"], {})
        chats = _label_values(pipeline, variable["chat"], {"group": GROUP}) if groups else []
        return GROUP in groups and bool(chats)

    _poll(variables_filled, 60, "the dashboard variables' values")
    assert set(groups) == {"demo-1", "demo-2"}
    assert all(re.fullmatch(r"-?\d+", chat) for chat in chats), chats

    pending: dict[tuple[str, str, str], str] = {}
    for name, board in dashboards().items():
        for chat in (chats[0], ".*"):  # one chat, and "All"
            values = {"group": GROUP, "chat": chat, "datasource": "prometheus"}
            for title, expr in queries(board):
                pending[name, title, chat] = substitute(expr, values)
    assert len(pending) > 40
    last: dict[tuple[str, str, str], Any] = {}
    deadline = time.monotonic() + DATA_DEADLINE_S
    while pending and time.monotonic() < deadline:
        for key, expr in list(pending.items()):
            result = _api(pipeline, "query", query=expr)["result"]
            if _has_data(result):
                del pending[key]
            else:
                last[key] = result
        if pending:
            time.sleep(1)
    missing = {f"{key}: {pending[key]} -> {last.get(key)}" for key in pending}
    assert not missing, "panels without data:\n" + "\n".join(sorted(missing))


def test_the_standalone_consumer_serves_its_own_metrics(pipeline: Pipeline) -> None:
    health = httpx.get(f"{pipeline.consumer}/healthz", timeout=5).json()
    assert health["status"] == "ok"
    assert health["consumer"] == "observability-standalone"
    selector = '{job="telesniff-consumer"}'
    for expr in (f"telesniff_consumer_entries_total{selector}",
                 f"telesniff_consumer_group_pending{selector}",
                 f"telesniff_consumer_end_to_end_latency_seconds_count{selector}",
                 f"process_resident_memory_bytes{selector}",
                 f"python_info{selector}", f"telesniff_build_info{selector}"):  # fmt: skip
        _poll(partial(_query_has_data, pipeline, expr), 60, expr)
    # Nothing of the listener or the gateway lives in that process.
    assert not _api(pipeline, "query", query=f"telesniff_listener_messages_total{selector}")[
        "result"
    ]


def test_alert_rules_evaluate_on_real_data_and_dead_letters_fire(pipeline: Pipeline) -> None:
    def evaluated() -> bool:
        rules = [rule for group in _api(pipeline, "rules")["groups"] for rule in group["rules"]]
        return len(rules) == len(alert_rules()) and all(
            rule.get("lastEvaluation", "").startswith("2") and rule["health"] == "ok"
            for rule in rules
        )

    _poll(evaluated, 30, "every rule evaluated without error")

    # One entry no consumer can decode, once Prometheus has seen both consumers' counters
    # at zero twice (so increase() sees the step).
    def dead_letters_scraped() -> bool:
        query = (
            "max_over_time(telesniff_consumer_dead_lettered_total[1m]) == 0 "
            "and count_over_time(telesniff_consumer_dead_lettered_total[1m]) >= 2"
        )
        return len(_api(pipeline, "query", query=query)["result"]) == 2

    _poll(dead_letters_scraped, 30, "dead-letter counters scraped at zero")
    with contextlib.closing(redis.Redis.from_url(pipeline.valkey)) as direct:
        direct.xadd("telesniff:messages", {"e": b"this is not JSON"})

    def firing() -> set[str]:
        return {alert["labels"]["alertname"] for alert in _api(pipeline, "alerts")["alerts"]
                if alert["state"] == "firing"}  # fmt: skip

    _poll(lambda: "TelesniffDeadLetters" in firing(), 60, "TelesniffDeadLetters firing")
    # A healthy pipeline otherwise: nothing else fires.
    assert firing() == {"TelesniffDeadLetters"}


def test_scraped_labels_are_bounded_and_carry_no_message_content(pipeline: Pipeline) -> None:
    detections: list[dict[str, Any]] = []

    def served() -> bool:
        detections[:] = httpx.get(f"{pipeline.dev}/api/detections", timeout=5).json()["items"]
        return bool(detections)

    _poll(served, 30, "detections")
    content = set()
    for item in detections:
        content.update({item["text"], item["chat"] or "", item["sender"] or ""})
        content.update(match["value"] for match in item["matches"])
    content.discard("")

    series = _api(pipeline, "series", **{"match[]": '{__name__=~"telesniff_.+"}'})
    assert len(series) > 50
    values: dict[str, set[str]] = {}
    for labels in series:
        assert set(labels) <= ALLOWED_LABELS | SCRAPE_LABELS, labels
        for name, value in labels.items():
            values.setdefault(name, set()).add(value)
            assert value not in content, (name, value)
    assert values["group"] == {"demo-1", "demo-2"}
    assert all(re.fullmatch(r"-?\d+", chat) for chat in values["chat"])
    for name, seen in values.items():
        if name not in {"__name__", "le", "route"}:
            assert len(seen) <= 20, (name, sorted(seen))
    # And the exposition itself: no message text, address or title anywhere on /metrics.
    for url in (f"{pipeline.dev}/metrics", f"{pipeline.consumer}/metrics"):
        text = httpx.get(url, timeout=5).text
        leaked = [word for word in content if len(word) > 6 and word in text]
        assert not leaked, (url, leaked[:5])
