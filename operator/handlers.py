"""The operator's kopf handlers, registered on a registry of their own.

A registry per operator (instead of kopf's global one) keeps the handlers bound
to one Runtime and lets tests build operators side by side.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import kopf

from telesniff.operator import resources as r
from telesniff.operator import webhooks
from telesniff.operator.kube import ApiError
from telesniff.operator.reconcile import on_child_event, reconcile, refresh_status
from telesniff.operator.runtime import Runtime

log = logging.getLogger(__name__)

_GROUPS = (r.GROUP, r.VERSION, r.PLURAL)
# Failures worth retrying: the API server or the network, not our own bugs.
_TRANSIENT = (ApiError, aiohttp.ClientError, TimeoutError)
_CHILD_LABELS = {r.NAME_LABEL: r.LISTENER_NAME}


def _retry(rt: Runtime, error: BaseException) -> kopf.TemporaryError:
    # API failures are usually transient (conflicts, restarts, throttling): kopf
    # retries the handler with backoff instead of giving up on the group.
    rt.metrics.errors.inc()
    rt.metrics.reconciles.labels(result="error").inc()
    return kopf.TemporaryError(str(error), delay=10)


def register(registry: kopf.OperatorRegistry, rt: Runtime) -> None:
    settings = rt.settings

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        # The same identity for kopf's watches and for our own requests.
        return rt.api.connection_info()

    @kopf.on.resume(*_GROUPS, registry=registry)
    @kopf.on.create(*_GROUPS, registry=registry)
    @kopf.on.update(*_GROUPS, registry=registry)
    async def reconcile_group(body: kopf.Body, **_: Any) -> None:
        # Create, update and resume (every group, at every operator start) all
        # converge the same way: level-based, not edge-based.
        try:
            await reconcile(rt, body)
        except _TRANSIENT as error:
            raise _retry(rt, error) from error

    @kopf.timer(
        *_GROUPS,
        registry=registry,
        interval=settings.status_interval_s,
        # Skip ticks while a group is being changed; its handlers write status then.
        idle=min(10.0, settings.status_interval_s / 3),
        initial_delay=min(5.0, settings.status_interval_s),
    )
    async def refresh_group_status(body: kopf.Body, **_: Any) -> None:
        try:
            await refresh_status(rt, body)
        except _TRANSIENT as error:
            rt.metrics.errors.inc()
            raise kopf.TemporaryError(str(error), delay=settings.status_interval_s) from error

    @kopf.on.event(*_GROUPS, registry=registry)
    def track_phase(type: str | None, body: kopf.Body, **_: Any) -> None:
        metadata = body.get("metadata") or {}
        phase = (body.get("status") or {}).get("phase")
        if type == "DELETED":
            rt.metrics.observe_group(metadata.get("namespace", ""), metadata.get("name", ""), None)
        elif phase:
            rt.metrics.observe_group(metadata.get("namespace", ""), metadata.get("name", ""), phase)

    async def child_event(kind: str, event_type: str | None, body: kopf.Body) -> None:
        try:
            outcome = await on_child_event(rt, kind, event_type, body)
        except _TRANSIENT as error:
            # Event handlers are not retried; the status timer restores a missing
            # workload on its next tick, so log and count.
            rt.metrics.errors.inc()
            log.warning("handling a %s event failed: %s", kind, error)
            return
        if outcome == "repaired":
            rt.metrics.reconciles.labels(result="repaired").inc()

    @kopf.on.event("apps/v1", "statefulsets", registry=registry, labels=_CHILD_LABELS)
    async def listener_event(type: str | None, body: kopf.Body, **_: Any) -> None:
        await child_event("StatefulSet", type, body)

    @kopf.on.event("v1", "configmaps", registry=registry, labels=_CHILD_LABELS)
    async def config_event(type: str | None, body: kopf.Body, **_: Any) -> None:
        await child_event("ConfigMap", type, body)

    if webhooks.webhook_server(settings) is not None:

        @kopf.on.validate(
            *_GROUPS,
            registry=registry,
            id="chatgroup",
            operations=["CREATE", "UPDATE"],
            # Kept in the configuration when one replica exits, so a rolling
            # update of the operator never leaves groups unvalidated.
            persistent=True,
            ignore_failures=settings.webhook_failure_policy == "Ignore",
        )
        async def validate_group(body: kopf.Body, **kwargs: Any) -> None:
            await webhooks.validate(rt, body, kwargs.get("old"))
