"""``telesniff dev`` as a user runs it: it comes up, serves detections, and exits on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.mark.parametrize(
    ("arguments", "groups"),
    [
        ([], {"demo-1", "demo-2"}),
        (["--group", str(EXAMPLES / "chatgroup-demo.yaml")], {"demo-calls"}),
    ],
    ids=["built-in-demo", "demo-group-file"],
)
def test_dev_serves_detections_and_stops_cleanly_on_sigint(
    tmp_path: Path, arguments: list[str], groups: set[str]
) -> None:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TELESNIFF_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "telesniff", "dev", "--port", str(port), "--rate", "200",
         "--data-dir", str(tmp_path), *arguments],
        stderr=subprocess.PIPE, text=True, env=environment,
    )  # fmt: skip
    assert process.stderr is not None
    try:
        banner = ""
        for line in process.stderr:
            banner += line
            if "dashboard at" in line:
                break
        assert f"dashboard at http://127.0.0.1:{port}/" in banner, banner
        items: list[dict[str, object]] = []
        deadline = time.monotonic() + 30
        while not items:
            assert time.monotonic() < deadline, "no detections served"
            items = httpx.get(f"http://127.0.0.1:{port}/api/detections").json()["items"]
            time.sleep(0.1)
        assert {item["group"] for item in items} <= groups
        page = httpx.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200
        assert "telesniff" in page.text.lower()
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        returncode = process.wait(30)
        rest = process.stderr.read()
    assert returncode == 0, rest
    assert "telesniff dev stopped." in rest
    # The embedded Valkey server is gone with it.
    leftover = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True)
    assert leftover.stdout.strip() == "", leftover.stdout
    assert (tmp_path / "telesniff.db").exists()
