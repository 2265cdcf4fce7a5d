"""``telesniff listener --demo``: the same listener path fed by the demo source (local clusters)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import redis as sync_redis

from tests.servers import free_port


def test_demo_listener_appends_serves_health_and_stops_on_sigterm(
    tmp_path: Path, debian_redis_url: str
) -> None:
    group = tmp_path / "demo.yaml"
    group.write_text("kind: ChatGroup\nmetadata: {name: cli-demo}\nspec: {chats: ['@demo_chat']}\n")
    client = sync_redis.Redis.from_url(debian_redis_url)
    client.delete("cli-demo-stream")
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TELESNIFF_")}
    environment |= {
        "TELESNIFF_REDIS_URL": debian_redis_url,
        "TELESNIFF_STREAM": "cli-demo-stream",
        "TELESNIFF_DEMO_RATE": "200",
        "TELESNIFF_METRICS_PORT": str(port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "telesniff", "listener", "--group", str(group), "--demo"],
        env=environment, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while client.xlen("cli-demo-stream") < 10:
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "the demo listener appended nothing"
            time.sleep(0.05)
        health = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
        assert health == {"status": "ok", "group": "cli-demo", "source": "demo"}
        assert (
            "telesniff_listener_messages_total"
            in httpx.get(f"http://127.0.0.1:{port}/metrics").text
        )
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0, process.communicate()[1]
    assert int(client.hget("telesniff:group:cli-demo:stats", "messages") or 0) >= 10
