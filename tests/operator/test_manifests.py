"""The children's manifests, as pure functions of the ChatGroup and the settings."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from telesniff.groupspec import load_group_file, parse_spec
from telesniff.operator import manifests
from telesniff.operator import resources as r
from tests.operator.conftest import group_body, operator_settings

PASSTHROUGH = {"TELESNIFF_REDIS_URL": "redis://redis:6379/0", "TELESNIFF_STREAM": "s"}


def children(body: dict[str, Any], **settings: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    return manifests.desired_children(
        body,
        parse_spec(body["spec"]),
        operator_settings(**settings),
        passthrough=PASSTHROUGH,
    )


def container(workload: dict[str, Any]) -> dict[str, Any]:
    (only,) = workload["spec"]["template"]["spec"]["containers"]
    return dict(only)


def test_both_children_are_owned_and_labelled() -> None:
    config, workload = children(group_body())
    for child in (config, workload):
        metadata = child["metadata"]
        assert metadata["namespace"] == "ns"
        assert metadata["ownerReferences"] == [
            {
                "apiVersion": "telesniff.dev/v1alpha1",
                "kind": "ChatGroup",
                "name": "alpha",
                "uid": "uid-alpha",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
        assert metadata["labels"]["app.kubernetes.io/name"] == "telesniff-listener"
        assert metadata["labels"]["app.kubernetes.io/instance"] == "alpha"
        assert metadata["labels"]["telesniff.dev/chatgroup"] == "alpha"
    assert workload["kind"] == "StatefulSet"
    assert workload["metadata"]["name"] == "alpha-listener"
    assert config["metadata"]["name"] == "alpha-listener-config"


def test_config_is_a_chatgroup_manifest_the_listener_can_load(tmp_path: Any) -> None:
    config, _ = children(group_body(image="x/y:1", suspend=True))
    path = tmp_path / "group.yaml"
    path.write_text(config["data"]["group.yaml"])
    loaded = load_group_file(path)
    assert loaded.name == "alpha"
    assert loaded.spec.chats == ["@solana_alpha", -1001234567890]
    assert loaded.spec.patterns == [r"\bCA\b"]
    assert loaded.spec.telegram is not None
    assert loaded.spec.telegram.api_hash.key == "api-hash"
    # Pod-shaping fields are the workload's business, not the listener's.
    document = yaml.safe_load(config["data"]["group.yaml"])
    assert document["kind"] == "ChatGroup"
    assert "image" not in document["spec"]
    assert "suspend" not in document["spec"]


def test_one_replica_and_zero_when_suspended_or_blocked() -> None:
    _, running = children(group_body())
    _, suspended = children(group_body(suspend=True))
    body = group_body()
    _, blocked = manifests.desired_children(
        body, parse_spec(body["spec"]), operator_settings(), passthrough={}, blocked=True
    )
    assert running["spec"]["replicas"] == 1
    assert suspended["spec"]["replicas"] == 0
    assert blocked["spec"]["replicas"] == 0
    # Never a rollout that runs an old and a new pod at once.
    assert running["spec"]["podManagementPolicy"] == "OrderedReady"
    with pytest.raises(ValueError, match="0 or 1"):
        manifests.stateful_set(
            manifests.Owner("a", "ns", "u"),
            parse_spec(body["spec"]),
            operator_settings(),
            config_hash="h",
            replicas=2,
            passthrough={},
        )


def test_a_spec_change_changes_the_config_hash_but_a_resource_change_does_not() -> None:
    def digest(body: dict[str, Any]) -> str:
        _, workload = children(body)
        return str(
            workload["spec"]["template"]["metadata"]["annotations"][r.CONFIG_HASH_ANNOTATION]
        )

    base = digest(group_body())
    assert base == digest(group_body())
    assert digest(group_body(keywords=["presale", "airdrop"])) != base
    assert digest(group_body(resources={"limits": {"memory": "1Gi"}})) == base


def test_the_listener_container() -> None:
    _, workload = children(group_body())
    main = container(workload)
    assert main["image"] == "registry.test/telesniff:1.2.3"
    assert main["args"] == ["listener", "--group", "/etc/telesniff/group.yaml"]
    assert main["ports"] == [{"name": "metrics", "containerPort": 9100, "protocol": "TCP"}]
    for probe in ("livenessProbe", "readinessProbe"):
        assert main[probe]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    env = {item["name"]: item["value"] for item in main["env"]}
    assert env == {
        "TELESNIFF_REDIS_URL": "redis://redis:6379/0",
        "TELESNIFF_STREAM": "s",
        "TELESNIFF_METRICS_PORT": "9100",
        "TELESNIFF_SECRETS_DIR": "/run/secrets/telesniff",
        "TELESNIFF_DATA_DIR": "/tmp/telesniff",
    }
    assert "envFrom" not in main
    _, with_secret_env = children(group_body(), listener_env_secret="telesniff-env")
    assert container(with_secret_env)["envFrom"] == [
        {"secretRef": {"name": "telesniff-env", "optional": True}}
    ]


def test_restricted_pod_security() -> None:
    _, workload = children(group_body())
    pod = workload["spec"]["template"]["spec"]
    main = container(workload)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert main["securityContext"] == {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    mounts = {mount["name"]: mount["mountPath"] for mount in main["volumeMounts"]}
    assert mounts == {
        "config": "/etc/telesniff",
        "tmp": "/tmp",
        "telegram": "/run/secrets/telesniff",
    }
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert "emptyDir" in volumes["tmp"]
    assert volumes["config"]["configMap"]["name"] == "alpha-listener-config"


def test_secret_keys_become_the_files_the_listener_settings_read() -> None:
    body = group_body(
        telegram={
            "session": {"name": "sessions", "key": "alpha"},
            "apiId": {"name": "api", "key": "id"},
            "apiHash": {"name": "api", "key": "hash"},
        }
    )
    _, workload = children(body)
    volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"]["volumes"]}
    sources = [source["secret"] for source in volumes["telegram"]["projected"]["sources"]]
    assert sources == [
        {"name": "sessions", "items": [{"key": "alpha", "path": "telesniff_telegram_session"}]},
        {"name": "api", "items": [{"key": "id", "path": "telesniff_telegram_api_id"}]},
        {"name": "api", "items": [{"key": "hash", "path": "telesniff_telegram_api_hash"}]},
    ]


def test_without_telegram_there_is_no_secret_volume() -> None:
    _, workload = children(group_body(telegram=None))
    pod = workload["spec"]["template"]["spec"]
    assert [v["name"] for v in pod["volumes"]] == ["config", "tmp"]


def test_overrides_from_the_spec() -> None:
    tolerations = [{"key": "dedicated", "operator": "Equal", "value": "tg", "effect": "NoSchedule"}]
    affinity: dict[str, Any] = {
        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}}
    }
    _, workload = children(
        group_body(
            image="registry.test/custom:9",
            resources={"requests": {"cpu": "1"}},
            nodeSelector={"pool": "telegram"},
            tolerations=tolerations,
            affinity=affinity,
        )
    )
    pod = workload["spec"]["template"]["spec"]
    assert container(workload)["image"] == "registry.test/custom:9"
    assert container(workload)["resources"] == {"requests": {"cpu": "1"}}
    assert pod["nodeSelector"] == {"pool": "telegram"}
    assert pod["tolerations"] == tolerations
    assert pod["affinity"] == affinity
    _, default = children(group_body())
    assert container(default)["resources"] == {
        "requests": {"cpu": "50m", "memory": "128Mi"},
        "limits": {"memory": "512Mi"},
    }


def test_long_group_names_fit_kubernetes_limits() -> None:
    name = "a" * 200
    _, workload = children(group_body(name=name))
    assert len(workload["metadata"]["name"]) <= 52
    assert all(len(value) <= 63 for value in workload["metadata"]["labels"].values())
    assert r.listener_name(name) != r.listener_name("a" * 199)
    assert (
        workload["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"]
        == (workload["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/instance"])
    )
