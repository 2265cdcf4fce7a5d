"""Level-based reconciliation: from a ChatGroup as it is now, make its children
what they should be and say in its status how things really are.

Called from kopf's create/update/resume handlers, from child watch events (a
deleted or edited child) and, for status only, from a periodic timer. Every
path reads the current state and converges; none depends on what happened before.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from telesniff.groupspec import GroupSpec
from telesniff.operator import admission, manifests
from telesniff.operator import resources as r
from telesniff.operator.kube import ApiError, object_path
from telesniff.operator.runtime import Runtime
from telesniff.operator.status import Check, build_status, changed

log = logging.getLogger(__name__)

_HELD_BACK = "DuplicateSession"


def _meta(body: Mapping[str, Any]) -> tuple[str, str, int]:
    metadata = body["metadata"]
    return str(metadata["namespace"]), str(metadata["name"]), int(metadata.get("generation") or 0)


def _workload_path(namespace: str, group: str) -> str:
    return object_path("apps/v1", "statefulsets", namespace, r.listener_name(group))


async def check_session(rt: Runtime, namespace: str, spec: GroupSpec) -> Check:
    """The SessionValid condition: do the referenced Secrets and keys exist?"""
    if spec.demo or spec.telegram is None:
        # (A Telegram group without spec.telegram never gets here: check_spec refuses it.)
        return Check(True, "NotRequired", "spec.source is demo: the listener needs no session")
    keys = await admission.secret_keys(rt.api, namespace, spec)
    problems = admission.check_secrets(spec, namespace, keys)
    if problems:
        reason = "SecretNotFound" if problems[0].reason == "missing_secret" else "KeyNotFound"
        return Check(False, reason, "; ".join(problem.message for problem in problems))
    session = spec.telegram.session
    return Check(True, "SecretFound", f"Secret {session.name!r} has the session and API keys")


async def session_holder(
    rt: Runtime, body: Mapping[str, Any], spec: GroupSpec
) -> Mapping[str, Any] | None:
    """Another group holding this group's session, if any. A holder is one whose
    listener is scaled up, or else the oldest unsuspended contender; this group
    yields to it, so two listeners never share a session even without the webhook."""
    if not admission.secret_refs(spec):
        return None
    namespace, name, _ = _meta(body)
    groups = await admission.groups_in(rt.api, namespace)
    contenders = [
        group
        for group in groups
        if group.get("metadata", {}).get("name") != name and admission.same_session(spec, group)
    ]
    for other in contenders:
        workload = await rt.api.get(_workload_path(namespace, other["metadata"]["name"]))
        if workload is not None and int((workload.get("spec") or {}).get("replicas") or 0) > 0:
            return other
    for other in contenders:
        if not (other.get("spec") or {}).get("suspend") and admission.is_older(other, body):
            return other
    return None


async def write_status(
    rt: Runtime, body: Mapping[str, Any], status: dict[str, Any], *, guarded: bool = False
) -> bool:
    """Patch the status subresource only when something changed; True if written.

    ``guarded``: only if the group is still the version ``body`` shows. The periodic
    refresh works from a snapshot that a concurrent reconcile may have overtaken; its
    status must not overwrite a newer one (say, an older observedGeneration)."""
    namespace, name, _ = _meta(body)
    rt.metrics.observe_group(namespace, name, str(status["phase"]))
    if not changed(body.get("status") or {}, status):
        return False
    version = body.get("metadata", {}).get("resourceVersion") if guarded else None
    try:
        await rt.api.patch_status(r.group_path(namespace, name), status, resource_version=version)
    except ApiError as error:
        if error.status != 409:
            raise
        return False  # overtaken: the next refresh starts from the newer version
    return True


def _invalid_status(rt: Runtime, body: Mapping[str, Any], message: str) -> dict[str, Any]:
    namespace, name, generation = _meta(body)
    problem = Check(False, "InvalidSpec", message)
    return build_status(
        current=body.get("status") or {},
        generation=generation,
        listener=r.listener_name(name),
        chats=len((body.get("spec") or {}).get("chats") or []),
        config_hash=None,
        suspended=False,
        problem=problem,
        session=Check(False, "InvalidSpec", "the spec is invalid, so its session was not checked"),
        workload=rt.workloads.get((namespace, name)),
        counters=None,
        now=rt.now(),
    )


async def reconcile(rt: Runtime, body: Mapping[str, Any]) -> dict[str, Any]:
    """Apply the ChatGroup's ConfigMap and StatefulSet, then write its status."""
    namespace, name, generation = _meta(body)
    spec, invalid = admission.check_spec(body.get("spec"))
    if spec is None:
        assert invalid is not None
        # Leave a running listener on its last good configuration; say what to fix.
        status = _invalid_status(rt, body, invalid.message)
        await write_status(rt, body, status)
        rt.metrics.reconciles.labels(result="invalid").inc()
        return status

    session = await check_session(rt, namespace, spec)
    holder = await session_holder(rt, body, spec)
    problem = None
    if holder is not None:
        message = admission.duplicate_session(name, spec, holder).message
        problem = Check(False, _HELD_BACK, f"held at 0 replicas: {message}")

    config, workload = manifests.desired_children(
        body, spec, rt.settings, passthrough=rt.passthrough, blocked=holder is not None
    )
    await rt.api.apply(config)
    config_key = ("ConfigMap", namespace, config["metadata"]["name"])
    rt.applied[config_key] = manifests.config_hash(config["data"][r.CONFIG_FILE])
    applied = await rt.api.apply(workload)
    workload_key = ("StatefulSet", namespace, workload["metadata"]["name"])
    rt.applied[workload_key] = str(applied.get("metadata", {}).get("generation"))
    rt.workloads[(namespace, name)] = applied

    status = build_status(
        current=body.get("status") or {},
        generation=generation,
        listener=workload["metadata"]["name"],
        chats=len(spec.chats),
        config_hash=workload["spec"]["template"]["metadata"]["annotations"][
            r.CONFIG_HASH_ANNOTATION
        ],
        suspended=spec.suspend,
        problem=problem,
        session=session,
        workload=applied,
        counters=await rt.stats.read(name),
        now=rt.now(),
    )
    await write_status(rt, body, status)
    rt.metrics.reconciles.labels(result="blocked" if problem else "ok").inc()
    return status


async def refresh_status(rt: Runtime, body: Mapping[str, Any]) -> dict[str, Any]:
    """Re-read the world (Secret, workload, counters) and update the status. A group
    held back for a shared session is fully reconciled instead: the other group may
    have gone, and then this one may start."""
    namespace, name, generation = _meta(body)
    current = body.get("status") or {}
    ready: Mapping[str, Any] = next(
        (c for c in current.get("conditions") or [] if c.get("type") == "Ready"), {}
    )
    if ready.get("reason") == _HELD_BACK:
        return await reconcile(rt, body)
    spec, invalid = admission.check_spec(body.get("spec"))
    if spec is None:
        assert invalid is not None
        status = _invalid_status(rt, body, invalid.message)
        await write_status(rt, body, status, guarded=True)
        return status
    workload = rt.workloads.get((namespace, name))
    if workload is None:
        workload = await rt.api.get(_workload_path(namespace, name))
    if workload is None:
        # A missing listener is drift too (say, a repair after its deletion failed).
        return await reconcile(rt, body)
    session = await check_session(rt, namespace, spec)
    status = build_status(
        current=current,
        generation=int(current.get("observedGeneration") or generation),
        listener=r.listener_name(name),
        chats=len(spec.chats),
        config_hash=current.get("configHash"),
        suspended=spec.suspend,
        problem=None,
        session=session,
        workload=workload,
        counters=await rt.stats.read(name),
        now=rt.now(),
    )
    await write_status(rt, body, status, guarded=True)
    return status


def _drifted(rt: Runtime, kind: str, event_type: str | None, child: Mapping[str, Any]) -> bool:
    """Whether a child no longer is what this process applied. Unknown children
    (before the first apply after a restart) are left to the resume handler."""
    if event_type == "DELETED":
        return True
    metadata = child.get("metadata", {})
    recorded = rt.applied.get((kind, str(metadata.get("namespace")), str(metadata.get("name"))))
    if recorded is None:
        return False
    if kind == "StatefulSet":
        return str(metadata.get("generation")) != recorded
    document = (child.get("data") or {}).get(r.CONFIG_FILE, "")
    return manifests.config_hash(str(document)) != recorded


async def on_child_event(
    rt: Runtime, kind: str, event_type: str | None, child: Mapping[str, Any]
) -> str:
    """React to a watch event on a listener's StatefulSet or ConfigMap; returns what
    was done (``ignored``, ``status`` or ``repaired``), for logs and tests."""
    owner = r.owner_of(child)
    namespace = str(child.get("metadata", {}).get("namespace"))
    if owner is None:
        return "ignored"
    if kind == "StatefulSet":
        if event_type == "DELETED":
            rt.workloads.pop((namespace, owner), None)
        else:
            rt.workloads[(namespace, owner)] = dict(child)
    drifted = _drifted(rt, kind, event_type, child)
    if event_type is None and not drifted:
        return "ignored"  # the initial listing: the resume handler reconciles every group
    if not drifted and kind != "StatefulSet":
        return "ignored"
    group = await rt.api.get(r.group_path(namespace, owner))
    if group is None or group.get("metadata", {}).get("deletionTimestamp"):
        return "ignored"  # the group is going away; the garbage collector removes the rest
    if drifted:
        log.info(
            "%s %s/%s of ChatGroup %s changed (%s): restoring it",
            kind,
            namespace,
            child.get("metadata", {}).get("name"),
            owner,
            event_type,
        )
        await reconcile(rt, group)
        return "repaired"
    await refresh_status(rt, group)
    return "status"
