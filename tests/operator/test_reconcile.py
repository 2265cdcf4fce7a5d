"""Reconciling against KMock: what the operator sends to the API, and what it makes of it."""

from __future__ import annotations

from typing import Any

import kmock

from telesniff.operator import resources as r
from telesniff.operator.reconcile import on_child_event, reconcile, refresh_status
from telesniff.operator.runtime import Runtime
from tests.operator.conftest import (
    CONFIGMAPS,
    GROUPS,
    SECRETS,
    STATEFULSETS,
    ApplyingEmulator,
    group_body,
    secret_body,
    store,
    stored_group,
)


def requests(cluster: ApplyingEmulator, method: str, fragment: str) -> list[kmock.Request]:
    return [req for req in cluster if req.method == method and fragment in req.url.path]


def ready(status: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == "Ready")


def session(status: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == "SessionValid")


async def test_create_applies_both_children_and_writes_status(
    cluster: ApplyingEmulator, rt: Runtime
) -> None:
    body = stored_group(cluster)

    status = await reconcile(rt, body)

    for fragment in ("/configmaps/alpha-listener-config", "/statefulsets/alpha-listener"):
        (apply,) = requests(cluster, "PATCH", fragment)
        assert apply.headers["Content-Type"] == "application/apply-patch+yaml"
        assert apply.params == {"fieldManager": "telesniff-operator", "force": "true"}
    workload = cluster.objects[STATEFULSETS, "ns", "alpha-listener"]
    assert workload["spec"]["replicas"] == 1
    config = cluster.objects[CONFIGMAPS, "ns", "alpha-listener-config"]
    assert "name: alpha" in config["data"]["group.yaml"]
    stored = cluster.objects[GROUPS, "ns", "alpha"]["status"]
    assert stored == status
    assert status["phase"] == "Pending"  # no pod is ready in KMock
    assert ready(status)["reason"] == "ListenerNotReady"
    assert session(status)["status"] == "True"
    assert status["listener"] == "alpha-listener"
    assert (
        status["configHash"]
        == workload["spec"]["template"]["metadata"]["annotations"][r.CONFIG_HASH_ANNOTATION]
    )
    (status_patch,) = requests(cluster, "PATCH", "/chatgroups/alpha/status")
    assert status_patch.headers["Content-Type"] == "application/merge-patch+json"
    assert rt.metrics.reconciles.labels(result="ok")._value.get() == 1


async def test_unchanged_status_is_not_written_again(
    cluster: ApplyingEmulator, rt: Runtime
) -> None:
    body = stored_group(cluster)
    body["status"] = await reconcile(rt, body)
    await reconcile(rt, body)
    assert len(requests(cluster, "PATCH", "/chatgroups/alpha/status")) == 1
    assert len(requests(cluster, "PATCH", "/statefulsets/alpha-listener")) == 2


async def test_a_spec_change_rolls_the_listener(cluster: ApplyingEmulator, rt: Runtime) -> None:
    store(cluster, SECRETS, secret_body())
    store(cluster, GROUPS, group_body())
    before = await reconcile(rt, group_body())
    first = cluster.objects[STATEFULSETS, "ns", "alpha-listener"]["spec"]["template"]
    first_hash = first["metadata"]["annotations"][r.CONFIG_HASH_ANNOTATION]
    after = await reconcile(rt, group_body(generation=2, keywords=["airdrop"]))
    second = cluster.objects[STATEFULSETS, "ns", "alpha-listener"]["spec"]["template"]
    assert second["metadata"]["annotations"][r.CONFIG_HASH_ANNOTATION] != first_hash
    assert before["configHash"] != after["configHash"]
    assert after["observedGeneration"] == 2
    config = cluster.objects[CONFIGMAPS, "ns", "alpha-listener-config"]
    assert "airdrop" in config["data"]["group.yaml"]


async def test_suspend_scales_to_zero(cluster: ApplyingEmulator, rt: Runtime) -> None:
    store(cluster, SECRETS, secret_body())
    store(cluster, GROUPS, group_body())
    status = await reconcile(rt, group_body(suspend=True))
    assert cluster.objects[STATEFULSETS, "ns", "alpha-listener"]["spec"]["replicas"] == 0
    assert status["phase"] == "Suspended"
    await reconcile(rt, group_body(generation=2, suspend=False))
    assert cluster.objects[STATEFULSETS, "ns", "alpha-listener"]["spec"]["replicas"] == 1


async def test_missing_secret_fails_with_a_message(cluster: ApplyingEmulator, rt: Runtime) -> None:
    store(cluster, GROUPS, group_body())
    status = await reconcile(rt, group_body())
    assert status["phase"] == "Failed"
    assert session(status)["reason"] == "SecretNotFound"
    assert "Secret 'tg' not found in namespace 'ns'" in session(status)["message"]
    # The workload exists anyway: its pod starts by itself once the Secret appears.
    assert cluster.objects[STATEFULSETS, "ns", "alpha-listener"]["spec"]["replicas"] == 1


async def test_invalid_spec_touches_no_child(cluster: ApplyingEmulator, rt: Runtime) -> None:
    body = group_body(patterns=["(unclosed"])
    store(cluster, GROUPS, body)
    status = await reconcile(rt, body)
    assert status["phase"] == "Failed"
    assert ready(status)["reason"] == "InvalidSpec"
    assert "spec.patterns" in ready(status)["message"]
    assert requests(cluster, "PATCH", "/statefulsets") == []
    assert rt.metrics.reconciles.labels(result="invalid")._value.get() == 1


async def test_a_shared_session_holds_the_newcomer_back(
    cluster: ApplyingEmulator, rt: Runtime
) -> None:
    store(cluster, SECRETS, secret_body())
    beta = group_body("beta", uid="uid-beta", created="2026-01-01T00:00:00Z")
    store(cluster, GROUPS, beta)
    await reconcile(rt, beta)
    alpha = group_body("alpha", created="2026-01-02T00:00:00Z")
    store(cluster, GROUPS, alpha)

    status = await reconcile(rt, alpha)

    assert status["phase"] == "Failed"
    assert ready(status)["reason"] == "DuplicateSession"
    assert "already used by ChatGroup 'beta'" in ready(status)["message"]
    assert cluster.objects[STATEFULSETS, "ns", "alpha-listener"]["spec"]["replicas"] == 0
    assert cluster.objects[STATEFULSETS, "ns", "beta-listener"]["spec"]["replicas"] == 1

    # Once beta is gone, the periodic refresh lets alpha start.
    del cluster.objects[GROUPS, "ns", "beta"]
    del cluster.objects[STATEFULSETS, "ns", "beta-listener"]
    alpha["status"] = status
    refreshed = await refresh_status(rt, alpha)
    assert refreshed["phase"] == "Pending"
    assert cluster.objects[STATEFULSETS, "ns", "alpha-listener"]["spec"]["replicas"] == 1


async def test_a_running_listener_keeps_its_session_even_if_younger(
    cluster: ApplyingEmulator, rt: Runtime
) -> None:
    store(cluster, SECRETS, secret_body())
    young = group_body("young", uid="uid-young", created="2026-01-05T00:00:00Z")
    store(cluster, GROUPS, young)
    await reconcile(rt, young)  # alone: it runs
    old = group_body("old", uid="uid-old", created="2026-01-01T00:00:00Z")
    store(cluster, GROUPS, old)  # e.g. created while the webhook was down
    status = await reconcile(rt, old)
    assert ready(status)["reason"] == "DuplicateSession"
    assert cluster.objects[STATEFULSETS, "ns", "old-listener"]["spec"]["replicas"] == 0


async def test_child_events(cluster: ApplyingEmulator, rt: Runtime) -> None:
    body = stored_group(cluster)
    await reconcile(rt, body)
    workload = dict(cluster.objects[STATEFULSETS, "ns", "alpha-listener"])
    workload["metadata"] = dict(workload["metadata"], generation=4)
    rt.applied["StatefulSet", "ns", "alpha-listener"] = "4"
    applies = len(requests(cluster, "PATCH", "/statefulsets/alpha-listener"))

    # The initial listing after a restart: the resume handler covers it.
    assert await on_child_event(rt, "StatefulSet", None, workload) == "ignored"
    # Status only (the StatefulSet controller reporting): no re-apply.
    assert await on_child_event(rt, "StatefulSet", "MODIFIED", workload) == "status"
    assert len(requests(cluster, "PATCH", "/statefulsets/alpha-listener")) == applies
    # Someone else changed its spec (the generation moved on): restored.
    edited = dict(workload, metadata=dict(workload["metadata"], generation=5))
    assert await on_child_event(rt, "StatefulSet", "MODIFIED", edited) == "repaired"
    assert len(requests(cluster, "PATCH", "/statefulsets/alpha-listener")) == applies + 1
    # Deleted: restored.
    del cluster.objects[STATEFULSETS, "ns", "alpha-listener"]
    assert await on_child_event(rt, "StatefulSet", "DELETED", workload) == "repaired"
    assert cluster.objects[STATEFULSETS, "ns", "alpha-listener"]["spec"]["replicas"] == 1

    config = dict(cluster.objects[CONFIGMAPS, "ns", "alpha-listener-config"])
    assert await on_child_event(rt, "ConfigMap", "MODIFIED", config) == "ignored"
    tampered = dict(config, data={"group.yaml": "spec: {chats: [1]}\n"})
    assert await on_child_event(rt, "ConfigMap", "MODIFIED", tampered) == "repaired"
    restored = cluster.objects[CONFIGMAPS, "ns", "alpha-listener-config"]
    assert restored["data"] == config["data"]


async def test_child_events_of_a_group_being_deleted_are_left_alone(
    cluster: ApplyingEmulator, rt: Runtime
) -> None:
    body = stored_group(cluster)
    await reconcile(rt, body)
    workload = dict(cluster.objects[STATEFULSETS, "ns", "alpha-listener"])
    deleting = group_body()
    deleting["metadata"]["deletionTimestamp"] = "2026-01-03T00:00:00Z"
    store(cluster, GROUPS, deleting)
    assert await on_child_event(rt, "StatefulSet", "DELETED", workload) == "ignored"
    del cluster.objects[GROUPS, "ns", "alpha"]
    # The group is gone (cascading deletion): the garbage collector owns the children now.
    assert await on_child_event(rt, "StatefulSet", "DELETED", workload) == "ignored"
    orphan = dict(workload, metadata={"name": "x", "namespace": "ns"})
    assert await on_child_event(rt, "StatefulSet", "DELETED", orphan) == "ignored"


async def test_refresh_restores_a_missing_workload(cluster: ApplyingEmulator, rt: Runtime) -> None:
    body = stored_group(cluster)
    body["status"] = await reconcile(rt, body)
    rt.workloads.clear()
    del cluster.objects[STATEFULSETS, "ns", "alpha-listener"]
    await refresh_status(rt, body)
    assert cluster.objects[STATEFULSETS, "ns", "alpha-listener"]["spec"]["replicas"] == 1


async def test_refresh_reports_a_secret_deleted_later(
    cluster: ApplyingEmulator, rt: Runtime
) -> None:
    body = stored_group(cluster)
    body["status"] = await reconcile(rt, body)
    del cluster.objects[SECRETS, "ns", "tg"]
    status = await refresh_status(rt, body)
    assert status["phase"] == "Failed"
    assert session(status)["reason"] == "SecretNotFound"
    # Refreshing reads; it does not re-apply a workload that is there.
    assert len(requests(cluster, "PATCH", "/statefulsets/alpha-listener")) == 1


async def test_a_refresh_overtaken_by_a_newer_version_writes_nothing(
    cluster: ApplyingEmulator, rt: Runtime
) -> None:
    body = stored_group(cluster)
    body["status"] = await reconcile(rt, body)
    body["metadata"]["resourceVersion"] = "41"
    del cluster.objects[SECRETS, "ns", "tg"]  # something to report
    conflicts = cluster["patch /apis/telesniff.dev/v1alpha1/namespaces/ns/chatgroups/alpha/status"]
    conflicts << kmock.KubernetesError(status=409, reason="Conflict", message="changed")
    status = await refresh_status(rt, body)
    assert status["phase"] == "Failed"
    attempt = list(conflicts)[-1]
    # The write named the version it was computed from, and the conflict was not an error.
    assert attempt.data["metadata"] == {"resourceVersion": "41"}
