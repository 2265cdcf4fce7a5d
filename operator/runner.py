"""Starting the operator: kopf's settings from ours, metrics, peering, and the run."""

from __future__ import annotations

import asyncio
import logging
import random
import threading

import kopf

from telesniff.operator import resources as r
from telesniff.operator import webhooks
from telesniff.operator.handlers import register
from telesniff.operator.kube import KubeApi, LoginFn, login
from telesniff.operator.metrics import OperatorMetrics
from telesniff.operator.runtime import Runtime
from telesniff.operator.settings import OperatorSettings
from telesniff.operator.stats import StatsReader
from telesniff.runtime import setup_logging

log = logging.getLogger(__name__)

_KOPF_PREFIX = "kopf.telesniff.dev"


def kopf_settings(settings: OperatorSettings) -> kopf.OperatorSettings:
    config = kopf.OperatorSettings()
    # kopf's bookkeeping goes into annotations under our own prefix: the CRD's
    # status schema is structural and would prune anything kopf put there.
    config.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=_KOPF_PREFIX)
    config.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix=_KOPF_PREFIX)
    config.persistence.finalizer = f"{_KOPF_PREFIX}/finalizer"
    # Watch only the listeners' children, filtered by the API server, not every
    # StatefulSet and ConfigMap in the cluster.
    selector = f"{r.NAME_LABEL}={r.LISTENER_NAME}"
    config.watching.label_selectors["apps/v1", "statefulsets"] = selector
    config.watching.label_selectors["v1", "configmaps"] = selector
    # Long watches with a client-side bound, so a silently dropped connection is
    # noticed instead of leaving the operator deaf.
    config.watching.server_timeout = 300
    config.watching.client_timeout = 330
    config.watching.connect_timeout = 30
    # Kubernetes Events for warnings and errors only: not one per successful handler.
    config.posting.level = logging.WARNING
    config.posting.reporting_component = "telesniff-operator"
    config.peering.stealth = True
    server = webhooks.webhook_server(settings)
    if server is not None:
        config.admission.server = server
        config.admission.managed = settings.webhook_configuration
    elif settings.webhook_enabled:
        log.warning(
            "no webhook certificate (TELESNIFF_OPERATOR_WEBHOOK_CERT_FILE/_KEY_FILE): "
            "the admission webhook is off; the reconciler still holds back bad groups"
        )
    return config


def peering(settings: OperatorSettings) -> tuple[bool, str | None, int | None]:
    """kopf's (standalone, peering name, priority). With a peering name, replicas need
    distinct priorities: the highest one works while the others wait as standbys
    (equal priorities would freeze them all), hence a random one unless set."""
    if not settings.peering_name:
        return True, None, None
    priority = settings.priority if settings.priority is not None else random.randint(1, 2**30)
    return False, settings.peering_name, priority


async def run_operator(
    settings: OperatorSettings,
    *,
    login_fn: LoginFn = login,
    stop_flag: asyncio.Event | threading.Event | None = None,
    ready_flag: asyncio.Event | threading.Event | None = None,
) -> None:
    metrics = OperatorMetrics()
    if settings.metrics_port:
        port = metrics.serve(settings.metrics_addr, settings.metrics_port)
        log.info("metrics on http://%s:%d/metrics", settings.metrics_addr, port)
    runtime = Runtime(
        settings=settings,
        api=KubeApi(login_fn, field_manager=settings.field_manager),
        stats=StatsReader(settings.redis_url),
        metrics=metrics,
    )
    registry = kopf.OperatorRegistry()
    register(registry, runtime)
    standalone, peering_name, priority = peering(settings)
    try:
        await kopf.operator(
            registry=registry,
            settings=kopf_settings(settings),
            clusterwide=not settings.namespaces,
            namespaces=settings.namespaces,
            liveness_endpoint=settings.liveness_endpoint,
            stop_flag=stop_flag,
            ready_flag=ready_flag,
            standalone=standalone,
            peering_name=peering_name,
            priority=priority,
        )
    finally:
        await runtime.close()


def run(settings: OperatorSettings) -> None:
    """Run until SIGINT/SIGTERM (kopf handles the signals and exits gracefully)."""
    setup_logging(settings.log_level)
    asyncio.run(run_operator(settings))
