"""The standalone listener's /healthz and /metrics."""

from __future__ import annotations

import httpx
import orjson

from telesniff.listener import metrics
from telesniff.listener.health import HealthServer


async def test_healthz_and_metrics() -> None:
    metrics.MESSAGES.labels("health-test").inc(3)
    state = {"connected": False, "caught_up": False, "floodwait": True}
    async with (
        HealthServer(lambda: state).serve("127.0.0.1", 0) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        health = await client.get("/healthz")
        assert health.status_code == 200  # liveness: a FLOOD_WAIT is no reason to restart
        assert orjson.loads(health.content) == {"status": "ok", **state}
        scraped = await client.get("/metrics")
        assert scraped.status_code == 200
        assert scraped.headers["content-type"].startswith("text/plain")
        assert 'telesniff_listener_messages_total{group="health-test"} 3.0' in scraped.text
        for name in ("telesniff_listener_detections_total", "telesniff_listener_append_seconds",
                         "telesniff_listener_gap_recovered_total",
                         "telesniff_listener_floodwait_seconds_total",
                         "telesniff_listener_floodwait_active", "telesniff_listener_connected",
                         "telesniff_listener_last_message_timestamp_seconds"):  # fmt: skip
            assert f"# TYPE {name.removesuffix('_total')}" in scraped.text
        assert (await client.get("/nope")).status_code == 404
        assert (await client.post("/healthz")).status_code == 405
