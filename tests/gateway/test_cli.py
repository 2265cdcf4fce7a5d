"""``telesniff gateway``: a clear error without Redis, and a real process that serves and stops."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

import telesniff.cli.gateway  # noqa: F401  (registers the command)
from telesniff.cli.app import app
from tests.servers import free_port

_RUN_CLI = "from telesniff.cli.app import app; import telesniff.cli.gateway; app()"


def test_redis_url_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELESNIFF_REDIS_URL", raising=False)
    monkeypatch.delenv("TELESNIFF_CONFIG", raising=False)
    result = CliRunner().invoke(app, ["gateway"])
    assert result.exit_code == 2
    assert "TELESNIFF_REDIS_URL is required for `telesniff gateway`" in result.output
    assert "`telesniff dev` starts an embedded server" in result.output


def test_bad_port_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELESNIFF_REDIS_URL", "redis://127.0.0.1:1/0")
    result = CliRunner().invoke(app, ["gateway", "--port", "70000"])
    assert result.exit_code == 2
    assert "TELESNIFF_PORT" in result.output


async def test_gateway_process_serves_and_exits_on_sigint(
    debian_redis_url: str, tmp_path: Path
) -> None:
    port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "TELESNIFF_METRICS_PORT": str(metrics_port),
        "TELESNIFF_REDIS_URL": debian_redis_url,
        "TELESNIFF_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "TELESNIFF_LIVE_CHANNEL": "test:cli:live",
        "TELESNIFF_STREAM": "test:cli:messages",
    }
    process = subprocess.Popen(  # noqa: ASYNC220 (a child for the whole test, not awaited)
        [sys.executable, "-c", _RUN_CLI, "gateway", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            async with asyncio.timeout(30):
                while True:  # the process gives no signal when it is up; poll
                    assert process.poll() is None, process.communicate()[0].decode()
                    try:
                        ready = await client.get("/readyz")
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
            assert ready.status_code == 200
            assert ready.json()["status"] == "ready"
            assert (await client.get("/api/detections")).json() == {"items": [], "next": None}
            # The chart's monitors scrape every component on its metrics port.
            scraped = (await client.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
            assert "telesniff_gateway_ws_clients" in scraped
            assert "process_resident_memory_bytes" in scraped
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
        assert process.returncode == 0, output.decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
