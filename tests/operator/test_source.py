"""``spec.source``: a Telegram group needs ``spec.telegram``; a demo group needs (and
gets) no Secret, no session check and no session fence."""

from __future__ import annotations

from typing import Any, cast

import kmock
import kopf
import pytest
import yaml

from telesniff.groupspec import parse_spec
from telesniff.operator import admission, manifests, webhooks
from telesniff.operator.reconcile import reconcile
from telesniff.operator.runtime import Runtime
from tests.operator.conftest import (
    CONFIGMAPS,
    GROUPS,
    STATEFULSETS,
    ApplyingEmulator,
    group_body,
    operator_settings,
    store,
)

TELEGRAM_REFS = {
    "session": {"name": "tg", "key": "session"},
    "apiId": {"name": "tg", "key": "api-id"},
    "apiHash": {"name": "tg", "key": "api-hash"},
}


def as_body(document: dict[str, Any]) -> kopf.Body:
    return kopf.Body(cast("kopf.RawBody", document))


def stored(cluster: ApplyingEmulator, resource: str, name: str) -> bool:
    try:
        cluster.objects[resource, "ns", name]
    except KeyError:
        return False
    return True


def condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == kind)


def test_the_default_source_is_telegram() -> None:
    assert parse_spec({"chats": ["@ok_name"]}).source == "telegram"
    assert parse_spec({"chats": ["@ok_name"], "source": "demo"}).demo
    _, bad = admission.check_spec({"chats": ["@ok_name"], "source": "carrier-pigeon"})
    assert bad is not None
    assert bad.reason == "invalid_spec"
    assert "spec.source" in bad.message


def test_a_telegram_group_without_secrets_is_refused_with_what_to_do() -> None:
    spec, problem = admission.check_spec({"chats": ["@ok_name"]})
    assert spec is None
    assert problem is not None
    assert problem.reason == "missing_telegram"
    assert problem.message.startswith(
        "spec.telegram: required when spec.source is 'telegram' (the default)"
    )
    assert "spec.source: demo" in problem.message
    # The same spec is fine for the demo source, and a demo group may keep (ignored) refs.
    assert admission.check_spec({"chats": ["@ok_name"], "source": "demo"})[1] is None
    demo_with_refs, _ = admission.check_spec(
        {"chats": ["@ok_name"], "source": "demo", "telegram": TELEGRAM_REFS}
    )
    assert demo_with_refs is not None
    assert admission.secret_refs(demo_with_refs) == {}


async def test_review_of_a_demo_group_asks_the_api_nothing(
    cluster: ApplyingEmulator, rt: Runtime
) -> None:
    spec = {"chats": ["@ok_name"], "source": "demo", "telegram": TELEGRAM_REFS}
    # No Secret exists and another group holds the same session: neither matters.
    store(cluster, GROUPS, group_body("beta"))
    assert await admission.review(rt.api, "alpha", "ns", spec) == []
    assert list(cluster) == []
    problems = await admission.review(rt.api, "alpha", "ns", {"chats": ["@ok_name"]})
    assert [p.reason for p in problems] == ["missing_telegram"]


def test_demo_groups_hold_no_session() -> None:
    telegram = parse_spec(group_body("alpha")["spec"])
    demo = group_body("beta", source="demo")  # same refs, but it never uses them
    assert admission.find_session_owner("alpha", telegram, [demo]) is None
    assert not admission.same_session(parse_spec(demo["spec"]), group_body("alpha"))


async def test_the_webhook_refuses_a_telegram_group_without_secrets(
    cluster: ApplyingEmulator, rt: Runtime
) -> None:
    with pytest.raises(kopf.AdmissionError) as denied:
        await webhooks.validate(rt, as_body(group_body("alpha", telegram=None)), None)
    assert "spec.telegram: required when spec.source is 'telegram'" in str(denied.value)
    assert rt.metrics.rejections.labels(reason="missing_telegram")._value.get() == 1
    await webhooks.validate(rt, as_body(group_body("alpha", telegram=None, source="demo")), None)


def test_a_demo_listener_mounts_no_secret_and_says_demo_in_its_group_file() -> None:
    body = group_body(source="demo")  # with (ignored) telegram refs
    config, workload = manifests.desired_children(
        body, parse_spec(body["spec"]), operator_settings(), passthrough={}
    )
    pod = workload["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert [v["name"] for v in pod["volumes"]] == ["config", "tmp"]
    assert [m["name"] for m in container["volumeMounts"]] == ["config", "tmp"]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert "TELESNIFF_SECRETS_DIR" not in env
    assert env["TELESNIFF_METRICS_PORT"] == "9100"
    assert container["args"] == ["listener", "--group", "/etc/telesniff/group.yaml"]
    document = yaml.safe_load(config["data"]["group.yaml"])
    assert document["spec"]["source"] == "demo"
    assert "telegram" not in document["spec"]
    # A Telegram listener gets its Secrets and says so too.
    body = group_body()
    config, workload = manifests.desired_children(
        body, parse_spec(body["spec"]), operator_settings(), passthrough={}
    )
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["TELESNIFF_SECRETS_DIR"] == "/run/secrets/telesniff"
    assert yaml.safe_load(config["data"]["group.yaml"])["spec"]["source"] == "telegram"


def test_listener_probes_hit_the_metrics_port_it_is_told_to_serve() -> None:
    for port in (9100, 9200):
        body = group_body(source="demo")
        _, workload = manifests.desired_children(
            body,
            parse_spec(body["spec"]),
            operator_settings(listener_metrics_port=port),
            passthrough={},
        )
        (container,) = workload["spec"]["template"]["spec"]["containers"]
        env = {item["name"]: item["value"] for item in container["env"]}
        (declared,) = container["ports"]
        assert env["TELESNIFF_METRICS_PORT"] == str(port)
        assert declared == {"name": "metrics", "containerPort": port, "protocol": "TCP"}
        for probe in ("livenessProbe", "readinessProbe"):
            assert container[probe]["httpGet"] == {"path": "/healthz", "port": "metrics"}


async def test_reconciling_a_demo_group(cluster: ApplyingEmulator, rt: Runtime) -> None:
    body = group_body(source="demo", telegram=None)
    store(cluster, GROUPS, body)
    status = await reconcile(rt, body)
    assert cluster.objects[STATEFULSETS, "ns", "alpha-listener"]["spec"]["replicas"] == 1
    assert stored(cluster, CONFIGMAPS, "alpha-listener-config")
    assert condition(status, "SessionValid") == {
        **condition(status, "SessionValid"),
        "status": "True",
        "reason": "NotRequired",
    }
    assert status["phase"] == "Pending"  # KMock runs no pod
    # No Secret was read for it.
    assert not [req for req in cluster if "/secrets" in req.url.path]


async def test_a_telegram_group_without_secrets_gets_no_listener(
    cluster: ApplyingEmulator, rt: Runtime
) -> None:
    # Admitted while the webhook was down (or before the CRD rule existed).
    body = group_body(telegram=None)
    store(cluster, GROUPS, body)
    status = await reconcile(rt, body)
    assert status["phase"] == "Failed"
    assert condition(status, "Ready")["reason"] == "InvalidSpec"
    assert condition(status, "Ready")["message"].startswith("spec.telegram: required")
    assert not stored(cluster, STATEFULSETS, "alpha-listener")
    assert not stored(cluster, CONFIGMAPS, "alpha-listener-config")
    assert rt.metrics.reconciles.labels(result="invalid")._value.get() == 1


async def test_an_operator_for_some_namespaces_admits_groups_elsewhere_untouched(
    cluster: ApplyingEmulator, rt: Runtime
) -> None:
    scoped = Runtime(
        settings=operator_settings(namespaces=["traders", "desk-*"]),
        api=rt.api,
        stats=rt.stats,
        metrics=rt.metrics,
    )
    assert webhooks.watches(scoped.settings, "traders")
    assert webhooks.watches(scoped.settings, "desk-eu")
    assert not webhooks.watches(scoped.settings, "research")
    assert webhooks.watches(rt.settings, "anything")  # cluster-wide
    # Its RBAC does not reach "research": no Secret read, no list, no verdict.
    await webhooks.validate(scoped, as_body(group_body("alpha", namespace="research")), None)
    assert list(cluster) == []
    with pytest.raises(kopf.AdmissionError, match="Secret 'tg' not found"):
        await webhooks.validate(scoped, as_body(group_body("alpha", namespace="traders")), None)
    assert {req.action for req in cluster} <= {kmock.action.FETCH, kmock.action.LIST}
