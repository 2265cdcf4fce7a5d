"""The metrics themselves, in process: the consumer's against real Redis/Valkey and SQLite,
the listener's, the gateway's registry, the shared /metrics server, and bounded labels."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import httpx
import orjson
import pytest
import redis.asyncio as aioredis
from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest

from telesniff import contract
from telesniff.consumer import metrics as consumer_metrics
from telesniff.consumer.metrics import LATENCY_BUCKETS, BatchHistogram
from telesniff.consumer.worker import Consumer
from telesniff.contract import Match
from telesniff.db.driver import Database
from telesniff.gateway.metrics import Metrics
from telesniff.listener.writer import Seen, StreamWriter
from telesniff.observability import MetricsServer
from telesniff.settings import Settings
from tests.factories import entry
from tests.observability.common import ALLOWED_LABELS

SOL = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"
EVM = "0x52908400098527886E0F7030069857D2E4169EE7"
SECRET = "hunter2-not-a-label"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_batch_histogram_matches_the_client_library() -> None:
    registry = CollectorRegistry()
    ours = BatchHistogram("t_ours_seconds", "ours", "group", LATENCY_BUCKETS, registry)
    reference = Histogram("t_ref_seconds", "ref", ["group"], buckets=LATENCY_BUCKETS,
                          registry=registry)  # fmt: skip
    values = [0.0, 0.0005, 0.0007, 0.001, 0.0042, 0.01, 0.0100001, 0.5, 59.0, 61.0, 1e9]
    ours.observe_many("a", values)
    ours.observe_many("a", [0.002])
    for value in [*values, 0.002]:
        reference.labels("a").observe(value)
    for bound in [*(repr(float(b)) for b in LATENCY_BUCKETS), "+Inf"]:
        got = registry.get_sample_value("t_ours_seconds_bucket", {"group": "a", "le": bound})
        want = registry.get_sample_value("t_ref_seconds_bucket", {"group": "a", "le": bound})
        assert got == want, bound
    assert registry.get_sample_value("t_ours_seconds_count", {"group": "a"}) == len(values) + 1
    assert registry.get_sample_value("t_ours_seconds_sum", {"group": "a"}) == pytest.approx(
        registry.get_sample_value("t_ref_seconds_sum", {"group": "a"})
    )
    text = generate_latest(registry).decode()
    assert "# TYPE t_ours_seconds histogram" in text


def test_group_label_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    known = {f"g{n}" for n in range(consumer_metrics.MAX_GROUPS)}
    monkeypatch.setattr(consumer_metrics, "_known_groups", known)
    assert consumer_metrics.group_label("g7") == "g7"
    assert consumer_metrics.group_label("one-too-many") == consumer_metrics.OTHER_GROUP


async def test_consumer_metrics_against_real_redis(redis: aioredis.Redis, tmp_path: Path) -> None:
    database = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'obs.db'}")
    await database.ensure_schema()
    settings = Settings(consumer_name="obs-consumer", flush_interval_ms=5, batch_size=50)
    before = {
        "a": sample("telesniff_consumer_entries_total", group="obs-a"),
        "b": sample("telesniff_consumer_entries_total", group="obs-b"),
        "latency": sample("telesniff_consumer_end_to_end_latency_seconds_count", group="obs-a"),
        "latency_sum": sample("telesniff_consumer_end_to_end_latency_seconds_sum", group="obs-a"),
        "dead": sample("telesniff_consumer_dead_lettered_total"),
        "stored": sample("telesniff_consumer_stored_entries_total"),
        "flushes": sample("telesniff_consumer_flush_duration_seconds_count"),
        "batches": sample("telesniff_consumer_batch_size_sum"),
    }  # fmt: skip
    consumer = Consumer(redis, database, settings)
    running = asyncio.create_task(consumer.run())
    for n in range(1, 121):
        item = entry(
            n,
            group="obs-a" if n <= 100 else "obs-b",
            text=f"{SECRET} {SOL} {EVM} https://pump.fun/coin/{SOL}",
            matches=(Match("solana", SOL), Match("evm", EVM)),
        )
        await redis.xadd(settings.stream, {contract.FIELD: contract.encode(item)})
    await redis.xadd(settings.stream, {contract.FIELD: b'{"v": 1, "text": "' + SECRET.encode()})
    try:
        deadline = time.monotonic() + 20
        while consumer.stored < 120 or consumer.dead_lettered < 1:
            assert time.monotonic() < deadline, (consumer.stored, consumer.dead_lettered)
            await asyncio.sleep(0.02)
        await consumer_metrics.read_group_stats(redis, settings)
    finally:
        consumer.stop()
        await asyncio.wait_for(running, 10)

    assert sample("telesniff_consumer_entries_total", group="obs-a") - before["a"] == 100
    assert sample("telesniff_consumer_entries_total", group="obs-b") - before["b"] == 20
    latency = sample("telesniff_consumer_end_to_end_latency_seconds_count", group="obs-a")
    assert latency - before["latency"] == 100
    # Stamped as received just before each XADD: seconds would mean a wrong clock or unit.
    spent = sample("telesniff_consumer_end_to_end_latency_seconds_sum", group="obs-a")
    assert 0 < spent - before["latency_sum"] < 100 * 1.0
    assert sample("telesniff_consumer_dead_lettered_total") - before["dead"] == 1
    assert sample("telesniff_consumer_stored_entries_total") - before["stored"] == 120
    assert sample("telesniff_consumer_batch_size_sum") - before["batches"] == 120
    assert sample("telesniff_consumer_flush_duration_seconds_count") > before["flushes"]
    group = {"stream": settings.stream, "consumer_group": settings.consumer_group}
    assert REGISTRY.get_sample_value("telesniff_consumer_group_lag", group) == 0
    assert REGISTRY.get_sample_value("telesniff_consumer_group_pending", group) == 0
    dead_letters = {"stream": settings.dead_letter_stream}
    assert REGISTRY.get_sample_value("telesniff_consumer_dead_letter_stream_length",
                                     dead_letters) == 1  # fmt: skip

    # The listener's side, for the same scan.
    writer = StreamWriter(redis, group="obs-a", stream="obs-listener", maxlen=1000)
    writing = asyncio.create_task(writer.run())
    chat_before = sample("telesniff_listener_chat_messages_total", group="obs-a", chat="-1001",
                         matched="true")  # fmt: skip
    await writer.put(Seen(-1001, 1, entry(1, group="obs-a", text=SOL)))
    await writer.put(Seen(-1001, 2, None))
    await writer.drain()
    writing.cancel()
    await asyncio.gather(writing, return_exceptions=True)
    chat_after = sample("telesniff_listener_chat_messages_total", group="obs-a", chat="-1001",
                        matched="true")  # fmt: skip
    assert chat_after - chat_before == 1

    assert_bounded_labels(forbidden=[SECRET, SOL, EVM, "pump.fun", "Alpha Calls", "caller",
                                     "obs-consumer", str(settings.redis_url)])  # fmt: skip


def assert_bounded_labels(forbidden: list[str]) -> None:
    """Every telesniff series in the default registry: allowed label names, bounded values."""
    seen = 0
    for family in REGISTRY.collect():
        if not family.name.startswith("telesniff_"):
            continue
        for metric_sample in family.samples:
            seen += 1
            assert set(metric_sample.labels) <= ALLOWED_LABELS, metric_sample
            for name, value in metric_sample.labels.items():
                assert not any(word in value for word in forbidden if word), metric_sample
                if name == "chat":
                    assert re.fullmatch(r"-?\d+", value), metric_sample
                assert len(value) <= 100, metric_sample
    assert seen


def test_gateway_metrics_include_the_process_and_the_default_registry() -> None:
    text = generate_latest(Metrics().registry).decode()
    for name in ("telesniff_gateway_ws_clients 0.0", "process_resident_memory_bytes",
                 "python_info", "telesniff_build_info{version=",
                 'telesniff_gateway_clients_dropped_total{reason="slow"} 0.0'):  # fmt: skip
        assert name in text, name
    # Given a registry, the gateway serves exactly that one (tests isolate apps this way).
    private = CollectorRegistry()
    assert "process_" not in generate_latest(Metrics(private).registry).decode()


async def test_metrics_server_serves_healthz_and_the_default_registry() -> None:
    state = {"consumer": "c-1", "stored": 3}
    async with (
        MetricsServer(lambda: state, component="consumer").serve("127.0.0.1", 0) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        health = await client.get("/healthz")
        assert health.status_code == 200
        assert orjson.loads(health.content) == {"status": "ok", **state}
        scraped = await client.get("/metrics")
        assert scraped.headers["content-type"].startswith("text/plain")
        for name in ("# TYPE telesniff_consumer_entries_total counter",
                     "# TYPE telesniff_consumer_end_to_end_latency_seconds histogram",
                     "process_cpu_seconds_total", "telesniff_build_info"):  # fmt: skip
            assert name in scraped.text, name
        assert (await client.head("/metrics")).content == b""
        assert (await client.get("/nope")).status_code == 404
        assert (await client.post("/metrics")).status_code == 405
