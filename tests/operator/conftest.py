"""Fixtures for the operator's fast tests: KMock as the Kubernetes API, no cluster."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp.web
import kmock
import kopf
import pytest

from telesniff.operator.kube import KubeApi
from telesniff.operator.metrics import OperatorMetrics
from telesniff.operator.runtime import Runtime
from telesniff.operator.settings import OperatorSettings
from telesniff.operator.stats import StatsReader
from tests.certs import self_signed

GROUPS = "telesniff.dev/v1alpha1/chatgroups"
SECRETS = "v1/secrets"
CONFIGMAPS = "v1/configmaps"
STATEFULSETS = "apps/v1/statefulsets"
NOW = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)


class ApplyingEmulator(kmock.KubernetesEmulator):
    """KMock's emulator, plus server-side apply creating what does not exist yet
    (the emulator's PATCH only merges into existing objects, as a merge patch does)."""

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        content_type = request.headers.get("Content-Type", "")
        if (
            request.method == kmock.method.PATCH
            and content_type.startswith("application/apply-patch")
            and request.resource is not None
            and request.name is not None
        ):
            key = (request.resource, request.namespace, request.name)
            if key not in self.objects or self.objects[key].deleted:
                self.objects[key] = {}
        return await super()._handle(request)


@pytest.fixture
async def cluster() -> AsyncIterator[ApplyingEmulator]:
    async with ApplyingEmulator() as handler, kmock.Server(handler):
        # Known resources list as empty (as a real API server does), not 404.
        handler.resources[GROUPS] = kmock.ResourceInfo(kind="ChatGroup", namespaced=True)
        yield handler


@pytest.fixture
def webhook_cert(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed serving certificate for 127.0.0.1 (kopf's own generator needs kopf[dev])."""
    return self_signed(tmp_path)


def operator_settings(**overrides: Any) -> OperatorSettings:
    values: dict[str, Any] = {
        "listener_image": "registry.test/telesniff:1.2.3",
        "redis_url": None,
        "namespaces": [],
        "webhook_cert_file": None,
        "webhook_key_file": None,
    }
    return OperatorSettings(**(values | overrides))


@pytest.fixture
async def rt(cluster: ApplyingEmulator) -> AsyncIterator[Runtime]:
    url = str(cluster.url)
    runtime = Runtime(
        settings=operator_settings(),
        api=KubeApi(lambda: kopf.ConnectionInfo(server=url), field_manager="telesniff-operator"),
        stats=StatsReader(None),
        metrics=OperatorMetrics(),
        environ={"TELESNIFF_REDIS_URL": "redis://redis:6379/0", "UNRELATED": "x"},
        now=lambda: NOW,
    )
    yield runtime
    await runtime.close()


def group_body(
    name: str = "alpha",
    namespace: str = "ns",
    *,
    uid: str = "uid-alpha",
    generation: int = 1,
    created: str = "2026-01-01T00:00:00Z",
    **spec: Any,
) -> dict[str, Any]:
    """A ChatGroup as the API server returns it."""
    document: dict[str, Any] = {
        "chats": ["@solana_alpha", -1001234567890],
        "keywords": ["presale"],
        "patterns": [r"\bCA\b"],
        "telegram": {
            "session": {"name": "tg", "key": "session"},
            "apiId": {"name": "tg", "key": "api-id"},
            "apiHash": {"name": "tg", "key": "api-hash"},
        },
    }
    document.update(spec)
    return {
        "apiVersion": "telesniff.dev/v1alpha1",
        "kind": "ChatGroup",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": uid,
            "generation": generation,
            "creationTimestamp": created,
        },
        "spec": {key: value for key, value in document.items() if value is not None},
    }


def secret_body(
    name: str = "tg", namespace: str = "ns", keys: tuple[str, ...] = ()
) -> dict[str, Any]:
    keys = keys or ("session", "api-id", "api-hash")
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "data": dict.fromkeys(keys, "c2VjcmV0"),
    }


def stored_group(cluster: ApplyingEmulator) -> dict[str, Any]:
    """The default ChatGroup and its session Secret, both in the cluster; the group's body."""
    body = group_body()
    store(cluster, GROUPS, body)
    store(cluster, SECRETS, secret_body())
    return body


def store(cluster: ApplyingEmulator, resource: str, body: dict[str, Any]) -> None:
    metadata = body["metadata"]
    cluster.objects[resource, metadata.get("namespace"), metadata["name"]] = body
