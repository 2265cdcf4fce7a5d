"""The listener pod the operator describes actually runs: its args, its environment and
its group file, given to a real ``telesniff listener`` process (with real Valkey), serve
/healthz where the probes look and put demo traffic on the stream. Only what a pod
provides is stood in for: the ConfigMap mount becomes a directory, and the pod's own
network namespace a free port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import redis

from telesniff.groupspec import parse_spec
from telesniff.operator import manifests
from telesniff.operator import resources as r
from tests.operator.conftest import group_body, operator_settings

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
            return int(response.status), bytes(response.read())
    except OSError:
        return 0, b""


def test_a_demo_listener_pod_runs_as_described(valkey_url: str, tmp_path: Path) -> None:
    stream = "telesniff:listener-pod-test"
    body = group_body("pod-demo", source="demo", telegram=None)
    config, workload = manifests.desired_children(
        body,
        parse_spec(body["spec"]),
        operator_settings(),
        passthrough={"TELESNIFF_REDIS_URL": valkey_url, "TELESNIFF_STREAM": stream},
    )
    pod: dict[str, Any] = workload["spec"]["template"]["spec"]
    (container,) = pod["containers"]

    # The ConfigMap volume, mounted where the container expects it.
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "config"]
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / r.CONFIG_FILE).write_text(config["data"][r.CONFIG_FILE])
    args = [arg.replace(mount["mountPath"], str(config_dir)) for arg in container["args"]]
    assert args != container["args"]  # the group file path was remapped

    env = {item["name"]: item["value"] for item in container["env"]}
    (declared,) = container["ports"]
    assert declared["name"] == container["livenessProbe"]["httpGet"]["port"]
    assert env["TELESNIFF_METRICS_PORT"] == str(declared["containerPort"])
    port = free_port()  # the pod's network namespace: its port, on a free one here
    env |= {"TELESNIFF_METRICS_PORT": str(port), "TELESNIFF_DATA_DIR": str(tmp_path / "data")}
    base = {k: v for k, v in os.environ.items() if not k.startswith("TELESNIFF_")}
    base["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), base.get("PYTHONPATH", "")])

    client = redis.Redis.from_url(valkey_url)
    client.delete(stream)
    log = tmp_path / "listener.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "telesniff", *args],
            env=base | env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        probe = container["livenessProbe"]["httpGet"]["path"]
        deadline = time.monotonic() + 30
        health: tuple[int, bytes] = (0, b"")
        while time.monotonic() < deadline and process.poll() is None:
            health = get(f"http://127.0.0.1:{port}{probe}")
            if health[0] == 200 and client.xlen(stream) > 0:
                break
            time.sleep(0.2)
        assert process.poll() is None, log.read_text()
        assert health[0] == 200, log.read_text()
        assert json.loads(health[1])["source"] == "demo"
        assert client.xlen(stream) > 0, log.read_text()
        assert get(f"http://127.0.0.1:{port}/metrics")[0] == 200
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait(timeout=10)
        client.delete(stream)
        client.close()
    assert code == 0, log.read_text()
    # No credentials were needed or looked for.
    assert "TELESNIFF_TELEGRAM" not in log.read_text()
