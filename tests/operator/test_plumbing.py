"""Settings, the API client, counters, metrics, kopf's settings and the CLI."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any, cast

import kmock
import kopf
import pytest
import redis.asyncio as aioredis

from telesniff.operator import runner
from telesniff.operator.kube import ApiError, KubeApi
from telesniff.operator.metrics import OperatorMetrics
from telesniff.operator.settings import (
    OperatorSettings,
    OperatorSettingsError,
    load_operator_settings,
)
from telesniff.operator.stats import StatsReader, parse_counters
from telesniff.operator.webhooks import ServiceWebhookServer
from tests.operator.conftest import SECRETS, ApplyingEmulator, operator_settings, secret_body, store


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELESNIFF_OPERATOR_NAMESPACES", "team-a, team-b")
    monkeypatch.setenv("TELESNIFF_OPERATOR_LISTENER_ENV", "TELESNIFF_REDIS_URL,TELESNIFF_STREAM")
    monkeypatch.setenv("TELESNIFF_REDIS_URL", "redis://redis:6379/0")
    settings = OperatorSettings()
    assert settings.namespaces == ["team-a", "team-b"]
    assert settings.redis_url == "redis://redis:6379/0"  # shared with the other services
    environ = {"TELESNIFF_REDIS_URL": "redis://r", "TELESNIFF_DATABASE_URL": "postgresql://x"}
    assert settings.listener_env_values(environ) == {"TELESNIFF_REDIS_URL": "redis://r"}
    monkeypatch.setenv("TELESNIFF_OPERATOR_IMAGE_PULL_POLICY", "Sometimes")
    with pytest.raises(OperatorSettingsError, match="TELESNIFF_OPERATOR_IMAGE_PULL_POLICY"):
        load_operator_settings()


async def test_api_errors_carry_the_servers_message(cluster: ApplyingEmulator) -> None:
    url = str(cluster.url)
    api = KubeApi(lambda: kopf.ConnectionInfo(server=url), field_manager="t")
    try:
        assert await api.get("/api/v1/namespaces/ns/secrets/absent") is None
        store(cluster, SECRETS, secret_body())
        secret = await api.get("/api/v1/namespaces/ns/secrets/tg")
        assert secret is not None
        assert set(secret["data"]) == {"session", "api-id", "api-hash"}
        cluster["get /api/v1/namespaces/ns/secrets/broken"] << kmock.KubernetesError(
            status=403, reason="Forbidden", message="secrets is forbidden"
        )
        with pytest.raises(ApiError) as error:
            await api.get("/api/v1/namespaces/ns/secrets/broken")
        assert error.value.status == 403
        assert error.value.message == "secrets is forbidden"
    finally:
        await api.close()


async def test_a_401_logs_in_again_once(cluster: ApplyingEmulator) -> None:
    url = str(cluster.url)
    tokens = iter(["expired", "fresh", "unused"])
    logins: list[str] = []

    def login() -> kopf.ConnectionInfo:
        logins.append(next(tokens))
        return kopf.ConnectionInfo(server=url, token=logins[-1])

    def answer(request: kmock.Request) -> Any:
        if request.headers.get("Authorization") == "Bearer fresh":
            return {"kind": "Secret", "data": {}}
        return kmock.KubernetesError(status=401, reason="Unauthorized", message="expired")

    cluster["get /api/v1/namespaces/ns/secrets/tg"] << answer
    api = KubeApi(login, field_manager="t")
    try:
        assert await api.get("/api/v1/namespaces/ns/secrets/tg") == {"kind": "Secret", "data": {}}
        assert logins == ["expired", "fresh"]
    finally:
        await api.close()


def test_parse_counters() -> None:
    assert parse_counters({}) is None
    counters = parse_counters({b"messages": b"12", b"detections": b"3", b"last_message_at": b"1.5"})
    assert counters is not None
    assert (counters.messages, counters.detections, counters.last_message_at) == (12, 3, 1.5)
    partial = parse_counters({"messages": "7", "last_message_at": "garbage"})
    assert partial is not None
    assert (partial.messages, partial.detections, partial.last_message_at) == (7, 0, None)


async def test_counters_from_a_real_valkey(valkey_url: str) -> None:
    client = aioredis.Redis.from_url(valkey_url)
    reader = StatsReader(valkey_url)
    try:
        await client.delete("telesniff:group:alpha:stats")
        assert await reader.read("alpha") is None
        await client.hset(
            "telesniff:group:alpha:stats",
            mapping={"messages": 41, "detections": 5, "last_message_at": 1767225600},
        )
        counters = await reader.read("alpha")
        assert counters is not None
        assert (counters.messages, counters.detections) == (41, 5)
        assert counters.last_message_at == 1767225600.0
    finally:
        await reader.close()
        await client.aclose()


async def test_an_unreachable_redis_means_no_counters_not_a_failure() -> None:
    reader = StatsReader("redis://127.0.0.1:1/0")
    try:
        assert reader.enabled
        assert await reader.read("alpha") is None
    finally:
        await reader.close()
    assert not StatsReader(None).enabled


def test_metrics_endpoint() -> None:
    metrics = OperatorMetrics()
    port = metrics.serve("127.0.0.1", 0)
    metrics.observe_group("ns", "a", "Running")
    metrics.observe_group("ns", "b", "Pending")
    metrics.observe_group("ns", "b", "Running")
    metrics.observe_group("ns", "c", "Failed")
    metrics.observe_group("ns", "c", None)
    metrics.reconciles.labels(result="ok").inc()
    metrics.rejections.labels(reason="duplicate_session").inc()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    assert 'telesniff_operator_chatgroups{phase="Running"} 2.0' in text
    assert 'telesniff_operator_chatgroups{phase="Failed"} 0.0' in text
    assert 'telesniff_operator_reconciles_total{result="ok"} 1.0' in text
    assert 'telesniff_operator_webhook_rejections_total{reason="duplicate_session"} 1.0' in text
    assert "telesniff_operator_errors_total 0.0" in text


def test_kopf_settings() -> None:
    config = runner.kopf_settings(operator_settings())
    assert config.admission.server is None  # no certificate, no webhook
    assert config.persistence.finalizer.startswith("kopf.telesniff.dev/")
    selectors = dict(config.watching.label_selectors.items())
    assert set(selectors.values()) == {"app.kubernetes.io/name=telesniff-listener"}
    assert len(selectors) == 2


def test_webhook_is_managed_when_it_has_a_certificate(tmp_path: Path) -> None:
    settings = operator_settings(webhook_cert_file=tmp_path / "c", webhook_key_file=tmp_path / "k")
    config = runner.kopf_settings(settings)
    assert isinstance(config.admission.server, kopf.WebhookServer)
    assert config.admission.managed == "chatgroups.telesniff.dev"


def test_peering() -> None:
    assert runner.peering(operator_settings(peering_name="")) == (True, None, None)
    assert runner.peering(operator_settings(priority=7)) == (False, "telesniff", 7)
    _, _, first = runner.peering(operator_settings())
    assert first is not None
    priorities = {runner.peering(operator_settings())[2] for _ in range(5)}
    assert len(priorities) > 1  # replicas must not tie, or kopf freezes them all


async def test_service_webhook_server_advertises_a_service(webhook_cert: tuple[Path, Path]) -> None:
    cert, key = webhook_cert
    server = ServiceWebhookServer(
        service="telesniff-operator-webhook",
        namespace="telesniff",
        service_port=443,
        addr="127.0.0.1",
        port=0,
        certfile=cert,
        pkeyfile=key,
    )

    async def never(*_: Any, **__: Any) -> Any:
        raise AssertionError("no request expected")

    async with server:
        configs = cast("AsyncGenerator[kopf.WebhookClientConfig, None]", server(never))
        config = await asyncio.wait_for(anext(configs), timeout=10)
        await configs.aclose()
    assert config["service"] == {
        "name": "telesniff-operator-webhook",
        "namespace": "telesniff",
        "port": 443,
    }
    assert "url" not in config
    assert config["caBundle"]  # the certificate itself, base64


def test_the_cli_command_is_registered() -> None:
    import telesniff.cli.operator  # noqa: F401  (registers the command)
    from telesniff.cli.app import app

    names = [command.name for command in app.registered_commands]
    assert "operator" in names


def test_the_cli_refuses_bad_options_before_touching_a_cluster(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    import telesniff.cli.operator  # noqa: F401  (registers the command)
    from telesniff.cli.app import app

    conflicting = CliRunner().invoke(app, ["operator", "-n", "team", "-A"])
    assert conflicting.exit_code == 2
    assert "exclude each other" in conflicting.output
    monkeypatch.setenv("TELESNIFF_OPERATOR_WEBHOOK_FAILURE_POLICY", "Maybe")
    bad = CliRunner().invoke(app, ["operator", "-A"])
    assert bad.exit_code == 2
    assert "TELESNIFF_OPERATOR_WEBHOOK_FAILURE_POLICY" in bad.output


def test_default_ports_are_the_charts() -> None:
    # One port per purpose across the chart, the operator and the listeners it starts:
    # metrics on 9100 (ServiceMonitor/PodMonitor port `metrics`), kopf's /healthz on 8080,
    # the webhook on 9443 behind the Service's 443.
    settings = OperatorSettings()
    assert settings.metrics_port == 9100
    assert settings.listener_metrics_port == 9100
    assert settings.liveness_endpoint == "http://0.0.0.0:8080/healthz"
    assert (settings.webhook_port, settings.webhook_service_port) == (9443, 443)
