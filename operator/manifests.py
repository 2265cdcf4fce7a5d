"""Pure builders for a ChatGroup's children: its config and its listener workload.

Nothing here talks to the API, so every shape is unit-tested directly. The
objects are complete "desired state" documents for server-side apply: the
operator owns every field it sets, and re-applying them repairs drift.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from telesniff.groupspec import GroupSpec, SecretKeyRef
from telesniff.operator import resources as r
from telesniff.operator.settings import OperatorSettings

# Fields that shape the pod, not what the listener does; left out of group.yaml
# so that, say, a new memory limit does not count as a new configuration.
_WORKLOAD_FIELDS = {"suspend", "image", "resources", "node_selector", "tolerations", "affinity"}
_CONTAINER = "listener"


@dataclass(frozen=True, slots=True)
class Owner:
    """The ChatGroup a child belongs to; its uid makes the ownerReference exact."""

    name: str
    namespace: str
    uid: str

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Owner:
        metadata = body["metadata"]
        return cls(str(metadata["name"]), str(metadata["namespace"]), str(metadata["uid"]))

    def reference(self) -> dict[str, Any]:
        # controller=true makes the group the one managing owner; blockOwnerDeletion
        # keeps foreground deletion of the group waiting for its children.
        return {
            "apiVersion": r.API_VERSION,
            "kind": r.KIND,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }

    def metadata(self, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "namespace": self.namespace,
            "labels": r.child_labels(self.name),
            "ownerReferences": [self.reference()],
        }


def group_document(owner: Owner, spec: GroupSpec) -> str:
    """The ``group.yaml`` the listener reads: a ChatGroup manifest, keys sorted so
    that the same spec always gives the same bytes (and the same hash). Its
    ``source`` tells the listener whether to connect to Telegram or run the demo
    source; a demo group's (ignored) Secret references are left out."""
    exclude = _WORKLOAD_FIELDS | ({"telegram"} if spec.demo else set())
    document = {
        "apiVersion": r.API_VERSION,
        "kind": r.KIND,
        "metadata": {"name": owner.name, "namespace": owner.namespace},
        "spec": spec.model_dump(mode="json", by_alias=True, exclude_none=True, exclude=exclude),
    }
    return str(yaml.safe_dump(document, sort_keys=True, default_flow_style=False))


def config_hash(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()[:16]


def config_map(owner: Owner, document: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": owner.metadata(r.config_map_name(owner.name)),
        "data": {r.CONFIG_FILE: document},
    }


def _secret_volume(telegram_refs: Mapping[str, SecretKeyRef]) -> dict[str, Any]:
    # One projected volume so the three keys may live in one Secret or in three,
    # each file named the way the listener's settings look for it.
    return {
        "name": "telegram",
        "projected": {
            "defaultMode": 0o440,
            "sources": [
                {
                    "secret": {
                        "name": ref.name,
                        "items": [{"key": ref.key, "path": r.SECRET_FILES[field]}],
                    }
                }
                for field, ref in telegram_refs.items()
            ],
        },
    }


def _env(
    settings: OperatorSettings, passthrough: Mapping[str, str], *, secrets: bool
) -> list[dict[str, str]]:
    fixed = {
        # /healthz and /metrics: the port the probes and the PodMonitor use.
        "TELESNIFF_METRICS_PORT": str(settings.listener_metrics_port),
        # The root filesystem is read-only; /tmp is the pod's one writable place.
        "TELESNIFF_DATA_DIR": "/tmp/telesniff",  # noqa: S108
    }
    if secrets:
        fixed["TELESNIFF_SECRETS_DIR"] = r.SECRETS_DIR
    merged = {name: value for name, value in passthrough.items() if name not in fixed} | fixed
    return [{"name": name, "value": merged[name]} for name in sorted(merged)]


def _resources(spec: GroupSpec, settings: OperatorSettings) -> dict[str, Any]:
    if spec.resources is not None:
        return dict(spec.resources)
    return {
        "requests": {
            "cpu": settings.listener_cpu_request,
            "memory": settings.listener_memory_request,
        },
        "limits": {"memory": settings.listener_memory_limit},
    }


def _probe(period: int, initial_delay: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": r.HEALTH_PATH, "port": r.METRICS_PORT_NAME},
        "initialDelaySeconds": initial_delay,
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": 3,
    }


def pod_spec(
    spec: GroupSpec,
    settings: OperatorSettings,
    *,
    config_map_name: str,
    passthrough: Mapping[str, str],
) -> dict[str, Any]:
    mounts: list[dict[str, Any]] = [
        {"name": "config", "mountPath": r.CONFIG_DIR, "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108
    ]
    volumes: list[dict[str, Any]] = [
        {
            "name": "config",
            "configMap": {
                "name": config_map_name,
                "items": [{"key": r.CONFIG_FILE, "path": r.CONFIG_FILE}],
            },
        },
        {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
    ]
    # Telegram credentials only for a Telegram listener: a demo group mounts no Secret.
    secrets = not spec.demo and spec.telegram is not None
    if secrets:
        assert spec.telegram is not None
        refs = {
            "session": spec.telegram.session,
            "api_id": spec.telegram.api_id,
            "api_hash": spec.telegram.api_hash,
        }
        volumes.append(_secret_volume(refs))
        mounts.append({"name": "telegram", "mountPath": r.SECRETS_DIR, "readOnly": True})
    container: dict[str, Any] = {
        "name": _CONTAINER,
        "image": spec.image or settings.listener_image,
        "imagePullPolicy": settings.image_pull_policy,
        "args": ["listener", "--group", f"{r.CONFIG_DIR}/{r.CONFIG_FILE}"],
        "env": _env(settings, passthrough, secrets=secrets),
        "ports": [
            {
                "name": r.METRICS_PORT_NAME,
                "containerPort": settings.listener_metrics_port,
                "protocol": "TCP",
            }
        ],
        "livenessProbe": _probe(period=20, initial_delay=15),
        "readinessProbe": _probe(period=10, initial_delay=5),
        "resources": _resources(spec, settings),
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": mounts,
    }
    if settings.listener_env_secret:
        container["envFrom"] = [
            {"secretRef": {"name": settings.listener_env_secret, "optional": True}}
        ]
    uid = settings.listener_uid
    pod: dict[str, Any] = {
        # The listener needs no Kubernetes API access at all.
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 30,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": uid,
            "runAsGroup": uid,
            "fsGroup": uid,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": volumes,
    }
    if spec.node_selector:
        pod["nodeSelector"] = dict(spec.node_selector)
    if spec.tolerations:
        pod["tolerations"] = [dict(toleration) for toleration in spec.tolerations]
    if spec.affinity:
        pod["affinity"] = dict(spec.affinity)
    return pod


def stateful_set(
    owner: Owner,
    spec: GroupSpec,
    settings: OperatorSettings,
    *,
    config_hash: str,
    replicas: int,
    passthrough: Mapping[str, str],
) -> dict[str, Any]:
    """The listener: a StatefulSet with at most one replica. A Deployment may run
    an old and a new pod side by side during a rollout; a StatefulSet stops the old
    pod before it starts the new one, so one Telegram session never runs twice."""
    if replicas not in (0, 1):
        raise ValueError(f"a listener runs 0 or 1 replicas, not {replicas}")
    pod = pod_spec(
        spec, settings, config_map_name=r.config_map_name(owner.name), passthrough=passthrough
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": owner.metadata(r.listener_name(owner.name)),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": r.selector_labels(owner.name)},
            "podManagementPolicy": "OrderedReady",
            "updateStrategy": {"type": "RollingUpdate"},
            "revisionHistoryLimit": 3,
            "template": {
                "metadata": {
                    "labels": r.child_labels(owner.name),
                    "annotations": {
                        # A new configuration changes the pod template, which rolls the pod.
                        r.CONFIG_HASH_ANNOTATION: config_hash,
                        "kubectl.kubernetes.io/default-container": _CONTAINER,
                    },
                },
                "spec": pod,
            },
        },
    }


def desired_children(
    body: Mapping[str, Any],
    spec: GroupSpec,
    settings: OperatorSettings,
    *,
    passthrough: Mapping[str, str],
    blocked: bool = False,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ConfigMap and the StatefulSet for a ChatGroup body. ``blocked`` (a
    session already used by another group) keeps the listener at zero replicas."""
    owner = Owner.from_body(body)
    document = group_document(owner, spec)
    digest = config_hash(document)
    replicas = 0 if spec.suspend or blocked else 1
    workload = stateful_set(
        owner, spec, settings, config_hash=digest, replicas=replicas, passthrough=passthrough
    )
    return config_map(owner, document), workload
