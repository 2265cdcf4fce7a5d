"""The admission webhook: its HTTPS server and the validating handler.

kopf serves the webhook and manages the ValidatingWebhookConfiguration itself
(``settings.admission.managed``). Its server advertises a URL; in a cluster the
API server should reach the pod through a Service instead (the API server does
not resolve cluster DNS everywhere), so ``ServiceWebhookServer`` rewrites the
advertised client config into a Service reference.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import kopf
from kopf._cogs.structs.references import NamespaceName, match_namespace

from telesniff.operator import admission
from telesniff.operator.runtime import Runtime
from telesniff.operator.settings import OperatorSettings


class ServiceWebhookServer(kopf.WebhookServer):
    """kopf's server, listening in the pod, advertised as ``service: {name, namespace, port}``."""

    def __init__(self, *, service: str, namespace: str, service_port: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service = service
        self.service_namespace = namespace
        self.service_port = service_port

    async def __call__(self, fn: kopf.WebhookFn) -> AsyncIterator[kopf.WebhookClientConfig]:
        async for config in super().__call__(fn):
            advertised = kopf.WebhookClientConfig(
                service=kopf.WebhookClientConfigService(
                    name=self.service, namespace=self.service_namespace, port=self.service_port
                )
            )
            if config.get("caBundle"):
                advertised["caBundle"] = config["caBundle"]
            yield advertised


def webhook_server(settings: OperatorSettings) -> kopf.WebhookServer | None:
    """The configured server, or None when there is no certificate to serve with."""
    if not settings.webhook_enabled or not settings.webhook_tls:
        return None
    common: dict[str, Any] = {
        "addr": settings.webhook_addr,
        "port": settings.webhook_port,
        "certfile": settings.webhook_cert_file,
        "pkeyfile": settings.webhook_key_file,
        # Without a CA file the certificate itself is the bundle (self-signed).
        "cafile": settings.webhook_ca_file,
    }
    if settings.webhook_service_name:
        return ServiceWebhookServer(
            service=settings.webhook_service_name,
            namespace=settings.webhook_service_namespace,
            service_port=settings.webhook_service_port,
            **common,
        )
    return kopf.WebhookServer(host=settings.webhook_host, **common)


def watches(settings: OperatorSettings, namespace: str) -> bool:
    """Whether this operator handles ChatGroups in ``namespace`` (kopf's own matching
    of ``--namespace`` patterns: exact names, globs, ``!`` exclusions)."""
    if not settings.namespaces:
        return True
    name = NamespaceName(namespace)
    return any(match_namespace(name, pattern) for pattern in settings.namespaces)


async def validate(rt: Runtime, body: kopf.Body, old: kopf.Body | None) -> None:
    """Admit a ChatGroup or raise kopf.AdmissionError saying what to fix."""
    if old is not None and old.get("spec") == body.get("spec"):
        # Metadata-only updates (labels, kopf's own bookkeeping annotations) must
        # never be blocked by, say, a Secret deleted since the group was admitted.
        return
    metadata = body.get("metadata") or {}
    namespace = str(metadata.get("namespace") or "default")
    if not watches(rt.settings, namespace):
        # kopf's webhook configuration has no namespaceSelector: an operator that
        # watches some namespaces is also asked about groups elsewhere, where its RBAC
        # does not reach (and another operator may be in charge). Not ours: admit.
        return
    problems = await admission.review(
        rt.api, str(metadata.get("name") or ""), namespace, body.get("spec")
    )
    if problems:
        for problem in problems:
            rt.metrics.rejections.labels(reason=problem.reason).inc()
        raise kopf.AdmissionError("; ".join(problem.message for problem in problems), code=422)
