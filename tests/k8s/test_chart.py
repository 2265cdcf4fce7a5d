"""The Helm chart: lint, render, schema, security, and acceptance by a real API server.

Rendering tests need only the helm binary (built from the Go module proxy by
scripts/k8s-tools/build.sh and cached); the server tests start a real etcd +
kube-apiserver and send every rendered object through a server-side dry run with strict
field validation, in namespaces that enforce the ``restricted`` Pod Security level, and
then do a real ``helm install`` / ``helm upgrade`` / ``helm uninstall``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.k8s.controlplane import ControlPlane, ensure_binaries

pytestmark = pytest.mark.k8s

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "telesniff"
ALL_FEATURES = CHART / "ci" / "all-features-values.yaml"
DEV = CHART / "values-dev.yaml"
NAMESPACE = "tele"
RELEASE = "ts"
UID = 10001

VALUE_SETS = {
    "default": [],
    "all-features": ["-f", str(ALL_FEATURES)],
    "dev": ["-f", str(DEV)],
    "hpa-external-redis": [
        "--set", "consumer.autoscaling.hpa.enabled=true",
        "--set", "redis.mode=external",
        "--set", "redis.external.existingSecret.name=redis",
        "--set", "postgres.existingSecret.name=postgres",
        "--set", "gateway.existingTokenSecret.name=tokens",
        "--set", "operator.webhook.enabled=false",
        "--set", "operator.peering.enabled=false",
    ],
}  # fmt: skip

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}


# -- helpers ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def helm() -> Path:
    return ensure_binaries() / "helm"


def run_helm(helm: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(helm), *args], capture_output=True, text=True, timeout=120, check=False
    )
    if check and proc.returncode != 0:
        pytest.fail(f"helm {' '.join(args)} failed:\n{proc.stderr}")
    return proc


def render(helm: Path, *args: str, chart: Path = CHART) -> list[dict[str, Any]]:
    out = run_helm(helm, "template", RELEASE, str(chart), "-n", NAMESPACE, *args).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: found {len(found)}"
    return found[0]


def pod_templates(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in docs:
        if doc["kind"] in WORKLOAD_KINDS:
            yield f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]


@pytest.fixture(scope="module", params=sorted(VALUE_SETS))
def rendered(request: pytest.FixtureRequest, helm: Path) -> tuple[str, list[dict[str, Any]]]:
    return request.param, render(helm, *VALUE_SETS[request.param])


# -- lint and render -------------------------------------------------------------------


@pytest.mark.parametrize("values", sorted(VALUE_SETS))
def test_helm_lint_passes(helm: Path, values: str) -> None:
    proc = run_helm(helm, "lint", "--strict", str(CHART), *VALUE_SETS[values])
    assert "0 chart(s) failed" in proc.stdout


def test_default_render_has_every_core_object(helm: Path) -> None:
    docs = render(helm)
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    full = f"{RELEASE}-telesniff"
    expected = {
        ("Deployment", f"{full}-operator"),
        ("Deployment", f"{full}-consumer"),
        ("Deployment", f"{full}-gateway"),
        ("StatefulSet", f"{full}-redis"),
        ("Service", f"{full}-redis"),
        ("Service", f"{full}-gateway"),
        ("Service", f"{full}-webhook"),
        ("Secret", f"{full}-webhook-tls"),
        ("ServiceAccount", f"{full}-operator"),
        ("ClusterRole", f"{full}-operator"),
        ("ClusterRoleBinding", f"{full}-operator"),
        ("ClusterKopfPeering", full),
        ("PodDisruptionBudget", f"{full}-operator"),
        ("PodDisruptionBudget", f"{full}-consumer"),
        ("PodDisruptionBudget", f"{full}-gateway"),
    }
    assert expected <= kinds
    # Optional features stay off by default.
    for kind in ("Ingress", "NetworkPolicy", "ScaledObject", "HorizontalPodAutoscaler",
                 "ServiceMonitor", "PodMonitor", "PrometheusRule"):  # fmt: skip
        assert not by_kind(docs, kind), kind
    # Replicas: operator HA by default.
    assert one(docs, "Deployment", f"{full}-operator")["spec"]["replicas"] == 2


def test_all_features_render_has_every_optional_object(helm: Path) -> None:
    docs = render(helm, "-f", str(ALL_FEATURES))
    kinds = {d["kind"] for d in docs}
    assert {
        "Ingress", "NetworkPolicy", "ScaledObject", "ServiceMonitor", "PodMonitor",
        "PodDisruptionBudget", "StatefulSet", "Certificate", "Issuer", "KopfPeering",
        "Role", "RoleBinding",
    } <= kinds  # fmt: skip
    assert "HorizontalPodAutoscaler" not in kinds
    # cert-manager replaces the Helm-made certificate.
    assert not [s for s in by_kind(docs, "Secret") if s["metadata"]["name"].endswith("webhook-tls")]
    # A peering object and a Role in every watched namespace.
    assert {p["metadata"]["namespace"] for p in by_kind(docs, "KopfPeering")} == {
        "traders",
        "research",
    }
    assert {r["metadata"]["namespace"] for r in by_kind(docs, "Role")} == {"traders", "research"}
    # Consumers have no fixed replica count when an autoscaler owns it.
    consumer = one(docs, "Deployment", f"{RELEASE}-telesniff-consumer")
    assert "replicas" not in consumer["spec"]
    # The digest pins the image everywhere, including the listeners the operator starts.
    image = "registry.example.com/telesniff@sha256:" + "0" * 64
    for name, pod in pod_templates(docs):
        if "redis" not in name:
            assert pod["containers"][0]["image"] == image, name
    operator = one(docs, "Deployment", f"{RELEASE}-telesniff-operator")
    (container,) = operator["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["TELESNIFF_OPERATOR_LISTENER_IMAGE"] == image
    # The operator watches exactly the namespaces its Roles cover.
    assert container["args"] == ["operator", "--namespace", "traders", "--namespace", "research"]
    assert "TELESNIFF_OPERATOR_NAMESPACES" not in env
    # config.extraEnv reaches the listeners too.
    assert env["TELESNIFF_OPERATOR_LISTENER_ENV"].split(",") == [
        "TELESNIFF_REDIS_URL",
        "TELESNIFF_STREAM",
        "TELESNIFF_LIVE_CHANNEL",
        "TELESNIFF_LOG_LEVEL",
        "TELESNIFF_STREAM_MAXLEN",
    ]


def test_keda_scaled_object_targets_the_consumer_group(helm: Path) -> None:
    docs = render(helm, "-f", str(ALL_FEATURES))
    (scaled,) = by_kind(docs, "ScaledObject")
    assert scaled["spec"]["scaleTargetRef"]["name"] == f"{RELEASE}-telesniff-consumer"
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "redis-streams"
    meta = trigger["metadata"]
    assert meta["stream"] == "telesniff:messages"
    assert meta["consumerGroup"] == "telesniff"
    assert meta["lagCount"] == "1000"
    assert meta["activationLagCount"] == "10"
    assert meta["address"] == f"{RELEASE}-telesniff-redis.{NAMESPACE}.svc:6379"
    assert all(isinstance(v, str) for v in meta.values())  # KEDA metadata is string-only
    assert trigger["authenticationRef"] == {"name": "redis-auth"}

    pending = render(
        helm,
        "--set", "consumer.autoscaling.keda.enabled=true",
        "--set", "consumer.autoscaling.keda.lagCount=",
        "--set", "consumer.autoscaling.keda.pendingEntriesCount=50",
    )  # fmt: skip
    meta = by_kind(pending, "ScaledObject")[0]["spec"]["triggers"][0]["metadata"]
    assert meta["pendingEntriesCount"] == "50"
    assert "lagCount" not in meta


def test_hpa_scales_the_consumers_on_cpu(helm: Path) -> None:
    docs = render(helm, *VALUE_SETS["hpa-external-redis"])
    (hpa,) = by_kind(docs, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == f"{RELEASE}-telesniff-consumer"
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert not by_kind(docs, "ScaledObject")
    assert not by_kind(docs, "StatefulSet")  # external Redis: no built-in server


def test_builtin_redis_persists_with_aof(helm: Path) -> None:
    docs = render(helm)
    redis = one(docs, "StatefulSet", f"{RELEASE}-telesniff-redis")
    args = redis["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--appendonly") + 1] == "yes"
    assert args[args.index("--dir") + 1] == "/data"
    (claim,) = redis["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["resources"]["requests"]["storage"] == "8Gi"
    mounts = redis["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"name": "data", "mountPath": "/data"} in mounts


# -- schema ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "setting",
    ["bogus=1", "gateway.bogus=1", "gateway.ingress.bogus=1", "redis.builtin.persistence.bogus=1",
     "operator.webhook.certManager.bogus=1", "consumer.autoscaling.keda.bogus=1"],
)  # fmt: skip
def test_schema_rejects_unknown_keys(helm: Path, setting: str) -> None:
    proc = run_helm(helm, "template", RELEASE, str(CHART), "--set", setting, check=False)
    assert proc.returncode != 0
    assert "additional properties 'bogus' not allowed" in proc.stderr


@pytest.mark.parametrize(
    "setting",
    ["redis.mode=cluster", "operator.webhook.failurePolicy=Maybe", "podSecurity.runAsUser=0",
     "gateway.ingress.hosts[0].paths[0].pathType=Everything", "config.logLevel=LOUD",
     "gateway.clientBufferBytes=4095", "gateway.clientBufferBytes=1073741825",
     "gateway.clientQueue=0", "gateway.clientQueue=100001"],
)  # fmt: skip
def test_schema_rejects_bad_values(helm: Path, setting: str) -> None:
    proc = run_helm(helm, "template", RELEASE, str(CHART), "--set", setting, check=False)
    assert proc.returncode != 0
    assert "schema" in proc.stderr


def test_hpa_and_keda_together_are_refused(helm: Path) -> None:
    both = ["--set", "consumer.autoscaling.hpa.enabled=true",
            "--set", "consumer.autoscaling.keda.enabled=true"]  # fmt: skip
    proc = run_helm(helm, "template", RELEASE, str(CHART), *both, check=False)
    assert proc.returncode != 0
    assert "/consumer/autoscaling/keda/enabled" in proc.stderr
    # And the template refuses it too when schema validation is skipped.
    proc = run_helm(
        helm, "template", RELEASE, str(CHART), "--skip-schema-validation", *both, check=False
    )
    assert proc.returncode != 0
    assert "enable either hpa or keda, not both" in proc.stderr


def test_external_redis_needs_a_url(helm: Path) -> None:
    proc = run_helm(
        helm, "template", RELEASE, str(CHART), "--set", "redis.mode=external", check=False
    )
    assert proc.returncode != 0
    assert "redis.external.url" in proc.stderr


# -- security --------------------------------------------------------------------------


def test_every_pod_is_restricted(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    values, docs = rendered
    templates = list(pod_templates(docs))
    assert templates, values
    for name, pod in templates:
        where = f"{values}: {name}"
        psc = pod["securityContext"]
        assert psc["runAsNonRoot"] is True, where
        assert psc["runAsUser"] == UID, where
        assert psc["runAsGroup"] == UID, where
        assert psc["fsGroup"] == UID, where
        assert psc["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert not pod.get("hostNetwork")
        assert not pod.get("hostPID")
        assert not pod.get("hostIPC")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        assert "emptyDir" in volumes["tmp"], where
        for container in pod["containers"] + pod.get("initContainers", []):
            cwhere = f"{where} container {container['name']}"
            csc = container["securityContext"]
            assert csc["runAsNonRoot"] is True, cwhere
            assert csc["runAsUser"] == UID, cwhere
            assert csc["readOnlyRootFilesystem"] is True, cwhere
            assert csc["allowPrivilegeEscalation"] is False, cwhere
            assert csc.get("privileged", False) is False, cwhere
            assert csc["capabilities"] == {"drop": ["ALL"]}, cwhere
            assert csc["seccompProfile"] == {"type": "RuntimeDefault"}, cwhere
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"], cwhere
            assert container["resources"].get("requests"), cwhere
            assert container["resources"].get("limits", {}).get("memory"), cwhere
            assert "livenessProbe" in container, cwhere
            assert "readinessProbe" in container, cwhere
        # Only the operator talks to the Kubernetes API.
        expects_token = name.endswith("-operator")
        assert pod.get("automountServiceAccountToken") is expects_token, where


def test_probes_and_ports_match_the_processes(helm: Path) -> None:
    docs = render(helm)
    full = f"{RELEASE}-telesniff"
    gateway = one(docs, "Deployment", f"{full}-gateway")["spec"]["template"]["spec"]
    (container,) = gateway["containers"]
    assert container["args"] == ["gateway"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8000, "metrics": 9100}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["TELESNIFF_HOST"] == "0.0.0.0"
    assert env["TELESNIFF_PORT"] == "8000"
    assert env["TELESNIFF_METRICS_PORT"] == "9100"
    assert env["TELESNIFF_REDIS_URL"] == f"redis://{full}-redis.{NAMESPACE}.svc:6379/0"

    consumer = one(docs, "Deployment", f"{full}-consumer")["spec"]["template"]["spec"]
    (container,) = consumer["containers"]
    assert container["args"] == ["consumer"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    names = [e["name"] for e in container["env"]]
    assert "TELESNIFF_CONSUMER_NAME" in names
    assert "TELESNIFF_CONSUMER_GROUP" in names

    operator = one(docs, "Deployment", f"{full}-operator")["spec"]["template"]["spec"]
    (container,) = operator["containers"]
    assert container["args"] == ["operator", "--all-namespaces"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": 9100, "health": 8080, "webhook": 9443}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "health"}
    webhook = one(docs, "Service", f"{full}-webhook")
    assert webhook["spec"]["ports"] == [
        {"name": "webhook", "port": 443, "targetPort": "webhook", "protocol": "TCP"}
    ]
    metrics = one(docs, "Service", f"{full}-operator-metrics")
    assert metrics["spec"]["ports"] == [
        {"name": "metrics", "port": 9100, "targetPort": "metrics", "protocol": "TCP"}
    ]


def _gateway_env(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    gateway = one(docs, "Deployment", f"{RELEASE}-telesniff-gateway")
    (container,) = gateway["spec"]["template"]["spec"]["containers"]
    env: list[dict[str, Any]] = container["env"]
    return env


def test_gateway_slow_client_limits_reach_its_env(helm: Path, tmp_path: Path) -> None:
    # The defaults are the gateway's own (src/telesniff/settings.py).
    env = {e["name"]: e.get("value") for e in _gateway_env(render(helm))}
    assert env["TELESNIFF_CLIENT_BUFFER_BYTES"] == str(8 * 1024 * 1024)
    assert env["TELESNIFF_CLIENT_QUEUE"] == "256"
    # From a values file the numbers are floats to Helm: still plain integers, not 1.048576e+06.
    values = tmp_path / "slow-clients.yaml"
    values.write_text("gateway:\n  clientBufferBytes: 1048576\n  clientQueue: 64\n")
    env = {e["name"]: e.get("value") for e in _gateway_env(render(helm, "-f", str(values)))}
    assert env["TELESNIFF_CLIENT_BUFFER_BYTES"] == "1048576"
    assert env["TELESNIFF_CLIENT_QUEUE"] == "64"
    env = {
        e["name"]: e.get("value")
        for e in _gateway_env(render(helm, "--set", "gateway.clientBufferBytes=1073741824"))
    }
    assert env["TELESNIFF_CLIENT_BUFFER_BYTES"] == "1073741824"
    # An extraEnv entry of the same name replaces the chart's: one entry per name.
    overridden = _gateway_env(
        render(
            helm,
            "--set", "gateway.extraEnv.TELESNIFF_CLIENT_QUEUE=9",
            "--set", "config.extraEnv.TELESNIFF_CLIENT_BUFFER_BYTES=5000",
        )
    )  # fmt: skip
    names = [e["name"] for e in overridden]
    assert len(names) == len(set(names)), names
    env = {e["name"]: e.get("value") for e in overridden}
    assert env["TELESNIFF_CLIENT_QUEUE"] == "9"
    assert env["TELESNIFF_CLIENT_BUFFER_BYTES"] == "5000"


def _operator_env(docs: list[dict[str, Any]]) -> dict[str, Any]:
    operator = one(docs, "Deployment", f"{RELEASE}-telesniff-operator")
    (container,) = operator["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_the_operator_env_matches_its_ports_mounts_and_services(helm: Path) -> None:
    """Every port, path and name the operator is told is the one the chart serves it on."""
    full = f"{RELEASE}-telesniff"
    docs = render(helm)
    env = _operator_env(docs)
    operator = one(docs, "Deployment", f"{full}-operator")["spec"]["template"]["spec"]
    (container,) = operator["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    # The downward API gives kopf its peering identity and the webhook its namespace.
    assert env["POD_ID"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["POD_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert env["TELESNIFF_REDIS_URL"] == f"redis://{full}-redis.{NAMESPACE}.svc:6379/0"
    assert env["TELESNIFF_STREAM"] == "telesniff:messages"
    assert env["TELESNIFF_OPERATOR_METRICS_PORT"] == str(ports["metrics"])
    assert env["TELESNIFF_OPERATOR_LIVENESS_ENDPOINT"] == (
        f"http://0.0.0.0:{ports['health']}/healthz"
    )
    assert env["TELESNIFF_OPERATOR_WEBHOOK_PORT"] == str(ports["webhook"])
    assert env["TELESNIFF_OPERATOR_LISTENER_METRICS_PORT"] == "9100"
    assert env["TELESNIFF_OPERATOR_LISTENER_UID"] == str(UID)
    # The webhook: the Service, its port, and the Secret's files where they are mounted.
    service = one(docs, "Service", f"{full}-webhook")
    assert env["TELESNIFF_OPERATOR_WEBHOOK_SERVICE_NAME"] == service["metadata"]["name"]
    assert env["TELESNIFF_OPERATOR_WEBHOOK_SERVICE_NAMESPACE"] == NAMESPACE
    assert env["TELESNIFF_OPERATOR_WEBHOOK_SERVICE_PORT"] == str(
        service["spec"]["ports"][0]["port"]
    )
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "webhook-tls"]
    (volume,) = [v for v in operator["volumes"] if v["name"] == "webhook-tls"]
    assert volume["secret"]["secretName"] == f"{full}-webhook-tls"
    for variable, key in (("CERT", "tls.crt"), ("KEY", "tls.key"), ("CA", "ca.crt")):
        assert env[f"TELESNIFF_OPERATOR_WEBHOOK_{variable}_FILE"] == f"{mount['mountPath']}/{key}"
    # Peering: the object the chart creates, by the name the operator is given.
    (peering,) = by_kind(docs, "ClusterKopfPeering")
    assert env["TELESNIFF_OPERATOR_PEERING_NAME"] == peering["metadata"]["name"] == full
    standalone = _operator_env(render(helm, "--set", "operator.peering.enabled=false"))
    assert standalone["TELESNIFF_OPERATOR_PEERING_NAME"] == ""
    # The monitors scrape the ports named `metrics`: the operator's Service port and the
    # listeners' container port (operator/manifests.py names it so, on this number).
    monitors = render(
        helm,
        "--set", "monitoring.serviceMonitor.enabled=true",
        "--set", "monitoring.podMonitor.enabled=true",
    )  # fmt: skip
    (service_monitor,) = by_kind(monitors, "ServiceMonitor")
    assert service_monitor["spec"]["endpoints"][0]["port"] == "metrics"
    (pod_monitor,) = by_kind(monitors, "PodMonitor")
    assert pod_monitor["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
    assert pod_monitor["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "telesniff-listener",
        "app.kubernetes.io/managed-by": "telesniff-operator",
    }


def test_one_webhook_configuration_name_for_env_and_rbac(helm: Path) -> None:
    for values, name in (
        ((), f"{RELEASE}-telesniff.chatgroups.telesniff.dev"),
        (("--set", "operator.webhook.configurationName=desk.example.com"), "desk.example.com"),
    ):
        docs = render(helm, *values)
        assert _operator_env(docs)["TELESNIFF_OPERATOR_WEBHOOK_CONFIGURATION"] == name
        role = one(docs, "ClusterRole", f"{RELEASE}-telesniff-operator")
        named = [rule for rule in role["rules"] if rule.get("resourceNames")]
        assert named == [
            {
                "apiGroups": ["admissionregistration.k8s.io"],
                "resources": ["validatingwebhookconfigurations", "mutatingwebhookconfigurations"],
                "resourceNames": [name],
                "verbs": ["patch"],
            }
        ]


def _rules(role: dict[str, Any]) -> dict[tuple[str, str, tuple[str, ...]], set[str]]:
    table: dict[tuple[str, str, tuple[str, ...]], set[str]] = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                key = (group, resource, tuple(rule.get("resourceNames", ())))
                table.setdefault(key, set()).update(rule["verbs"])
    return table


# What the operator uses (tests/k8s/test_operator.py runs it under exactly these rules).
NAMESPACED_RULES: dict[tuple[str, str, tuple[str, ...]], set[str]] = {
    ("telesniff.dev", "chatgroups", ()): {"get", "list", "watch", "patch"},
    ("telesniff.dev", "chatgroups/status", ()): {"patch"},
    ("telesniff.dev", "chatgroups/finalizers", ()): {"update"},
    ("apps", "statefulsets", ()): {"get", "list", "watch", "create", "patch"},
    ("", "configmaps", ()): {"list", "watch", "create", "patch"},
    ("", "secrets", ()): {"get"},
    ("", "events", ()): {"create"},
}
WEBHOOK_KINDS = ("validatingwebhookconfigurations", "mutatingwebhookconfigurations")


def test_operator_rbac_is_exactly_what_it_uses(helm: Path) -> None:
    docs = render(helm)
    full = f"{RELEASE}-telesniff"
    role = one(docs, "ClusterRole", f"{full}-operator")
    webhook_name: tuple[str, ...] = (f"{full}.chatgroups.telesniff.dev",)
    expected: dict[tuple[str, str, tuple[str, ...]], set[str]] = {
        **NAMESPACED_RULES,
        ("apiextensions.k8s.io", "customresourcedefinitions", ()): {"list", "watch"},
        ("kopf.dev", "clusterkopfpeerings", ()): {"list", "watch", "patch"},
    }
    for kind in WEBHOOK_KINDS:
        expected[("admissionregistration.k8s.io", kind, ())] = {"create"}
        expected[("admissionregistration.k8s.io", kind, webhook_name)] = {"patch"}
    assert _rules(role) == expected
    for rule in role["rules"]:
        assert "*" not in rule["verbs"]
        assert "*" not in rule["resources"]

    # Limited to namespaces: cluster rules stay cluster-wide, the rest become Roles.
    docs = render(helm, "-f", str(ALL_FEATURES))
    cluster = _rules(one(docs, "ClusterRole", f"{full}-operator"))
    assert ("telesniff.dev", "chatgroups", ()) not in cluster
    assert cluster[("", "namespaces", ())] == {"list", "watch"}
    assert ("kopf.dev", "clusterkopfpeerings", ()) not in cluster
    for role in by_kind(docs, "Role"):
        assert _rules(role) == {
            **NAMESPACED_RULES,
            ("kopf.dev", "kopfpeerings", ()): {"list", "watch", "patch"},
        }
    # Without the webhook and peering, nothing for them.
    bare = render(
        helm, "--set", "operator.webhook.enabled=false", "--set", "operator.peering.enabled=false"
    )
    assert _rules(one(bare, "ClusterRole", f"{full}-operator")) == {
        **NAMESPACED_RULES,
        ("apiextensions.k8s.io", "customresourcedefinitions", ()): {"list", "watch"},
    }


def test_webhook_certificate_is_valid_for_the_service(helm: Path, tmp_path: Path) -> None:
    docs = render(helm)
    full = f"{RELEASE}-telesniff"
    secret = one(docs, "Secret", f"{full}-webhook-tls")
    assert secret["type"] == "kubernetes.io/tls"
    for key in ("tls.crt", "tls.key", "ca.crt"):
        (tmp_path / key).write_bytes(base64.b64decode(secret["data"][key]))
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", str(tmp_path / "ca.crt"), str(tmp_path / "tls.crt")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert verify.returncode == 0, verify.stderr
    text = subprocess.run(
        ["openssl", "x509", "-noout", "-text", "-in", str(tmp_path / "tls.crt")],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert f"DNS:{full}-webhook.{NAMESPACE}.svc" in text
    assert f"DNS:{full}-webhook.{NAMESPACE}.svc.cluster.local" in text
    # The operator restarts when its certificate changes (kopf reads it at start).
    operator = one(docs, "Deployment", f"{full}-operator")
    annotations = operator["spec"]["template"]["metadata"]["annotations"]
    digest = hashlib.sha256(secret["data"]["tls.crt"].encode()).hexdigest()
    assert annotations["checksum/webhook-tls"] == digest


# -- monitoring files ------------------------------------------------------------------


DASHBOARD = {"title": "telesniff test", "panels": [], "schemaVersion": 39, "uid": "ts-test"}
ALERTS = {
    "groups": [
        {
            "name": "telesniff-test",
            "rules": [
                {
                    "alert": "TelesniffTestAlert",
                    "expr": 'up{job="x"} == 0',
                    "for": "5m",
                    "labels": {"severity": "warning"},
                    "annotations": {"summary": "{{ $labels.instance }} is down"},
                }
            ],
        }
    ]
}


@pytest.fixture
def chart_with_monitoring_files(tmp_path: Path) -> Path:
    chart = tmp_path / "telesniff"
    shutil.copytree(CHART, chart, symlinks=False)
    (chart / "files" / "dashboards" / "Stream Overview.json").write_text(json.dumps(DASHBOARD))
    (chart / "files" / "alerts" / "test.yaml").write_text(yaml.safe_dump(ALERTS))
    return chart


def test_dashboards_and_alerts_come_from_files(
    helm: Path, chart_with_monitoring_files: Path
) -> None:
    docs = render(
        helm,
        "--set", "monitoring.prometheusRule.enabled=true",
        chart=chart_with_monitoring_files,
    )  # fmt: skip
    # (The chart's own files/ may ship dashboards and alerts too: look for the test's.)
    dashboard = one(docs, "ConfigMap", f"{RELEASE}-telesniff-dashboard-stream-overview")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["Stream-Overview.json"]) == DASHBOARD
    (rule,) = by_kind(docs, "PrometheusRule")
    # {{ $labels }} passes through untouched
    assert ALERTS["groups"][0] in rule["spec"]["groups"]


def test_without_files_no_dashboards_or_rules_are_rendered(helm: Path) -> None:
    docs = render(helm, "--set", "monitoring.prometheusRule.enabled=true")
    shipped_dashboards = list((CHART / "files" / "dashboards").glob("*.json"))
    shipped_alerts = list((CHART / "files" / "alerts").glob("*.yaml"))
    configmaps = [c for c in by_kind(docs, "ConfigMap") if "dashboard" in c["metadata"]["name"]]
    assert len(configmaps) == len(shipped_dashboards)
    assert bool(by_kind(docs, "PrometheusRule")) == bool(shipped_alerts)


# -- a real API server -----------------------------------------------------------------

# Third-party kinds the chart can render, as minimal CRDs whose schemas hold every field
# the chart sets (and no more): with strict field validation the API server refuses a
# misspelt or misplaced field. Field names follow the upstream CRDs.
_STR: dict[str, Any] = {"type": "string"}
_STRMAP: dict[str, Any] = {"type": "object", "additionalProperties": _STR}
_SELECTOR: dict[str, Any] = {
    "type": "object",
    "properties": {"matchLabels": _STRMAP},
}
_NS_SELECTOR: dict[str, Any] = {
    "type": "object",
    "properties": {"any": {"type": "boolean"}, "matchNames": {"type": "array", "items": _STR}},
}
_ENDPOINT: dict[str, Any] = {
    "type": "object",
    "properties": {"port": _STR, "path": _STR, "interval": _STR},
}
_AUTH_REF: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": _STR, "kind": _STR},
}
_PRIVATE_KEY: dict[str, Any] = {
    "type": "object",
    "properties": {"algorithm": _STR, "size": {"type": "integer"}},
}
_RULE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "alert": _STR,
        "record": _STR,
        "expr": {"x-kubernetes-int-or-string": True},
        "for": _STR,
        "keep_firing_for": _STR,
        "labels": _STRMAP,
        "annotations": _STRMAP,
    },
}
_RULE_GROUP: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": _STR,
        "interval": _STR,
        "limit": {"type": "integer"},
        "rules": {"type": "array", "items": _RULE},
    },
}
_ISSUER_REF: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": _STR, "kind": _STR, "group": _STR},
}


def _crd(group: str, kind: str, plural: str, version: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {"spec": spec, "status": {
                                "type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                        }
                    },
                }
            ],
        },
    }  # fmt: skip


THIRD_PARTY_CRDS = [
    _crd("monitoring.coreos.com", "ServiceMonitor", "servicemonitors", "v1", {
        "type": "object", "required": ["selector"],
        "properties": {"selector": _SELECTOR, "namespaceSelector": _NS_SELECTOR,
                       "endpoints": {"type": "array", "items": _ENDPOINT}}}),
    _crd("monitoring.coreos.com", "PodMonitor", "podmonitors", "v1", {
        "type": "object", "required": ["selector"],
        "properties": {"selector": _SELECTOR, "namespaceSelector": _NS_SELECTOR,
                       "podMetricsEndpoints": {"type": "array", "items": _ENDPOINT}}}),
    _crd("monitoring.coreos.com", "PrometheusRule", "prometheusrules", "v1", {
        "type": "object",
        "properties": {"groups": {"type": "array", "items": _RULE_GROUP}}}),
    _crd("keda.sh", "ScaledObject", "scaledobjects", "v1alpha1", {
        "type": "object", "required": ["scaleTargetRef", "triggers"],
        "properties": {
            "scaleTargetRef": {"type": "object", "required": ["name"],
                               "properties": {"apiVersion": _STR, "kind": _STR, "name": _STR}},
            "minReplicaCount": {"type": "integer", "format": "int32"},
            "maxReplicaCount": {"type": "integer", "format": "int32"},
            "pollingInterval": {"type": "integer", "format": "int32"},
            "cooldownPeriod": {"type": "integer", "format": "int32"},
            "triggers": {"type": "array", "items": {
                "type": "object", "required": ["type", "metadata"],
                "properties": {"type": _STR, "name": _STR, "metadata": _STRMAP,
                               "authenticationRef": _AUTH_REF}}}}}),
    _crd("cert-manager.io", "Issuer", "issuers", "v1", {
        "type": "object",
        "properties": {"selfSigned": {"type": "object"},
                       "ca": {"type": "object", "required": ["secretName"],
                              "properties": {"secretName": _STR}}}}),
    _crd("cert-manager.io", "Certificate", "certificates", "v1", {
        "type": "object", "required": ["secretName", "issuerRef"],
        "properties": {"secretName": _STR, "commonName": _STR, "isCA": {"type": "boolean"},
                       "duration": _STR, "dnsNames": {"type": "array", "items": _STR},
                       "usages": {"type": "array", "items": _STR},
                       "privateKey": _PRIVATE_KEY,
                       "issuerRef": _ISSUER_REF}}),
]  # fmt: skip

RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
}


@pytest.fixture(scope="module")
def cp() -> Iterator[ControlPlane]:
    with ControlPlane(controller_manager=False) as plane:
        for namespace in (NAMESPACE, "traders", "research"):
            plane.run_kubectl(
                "apply", "-f", "-",
                input=json.dumps({"apiVersion": "v1", "kind": "Namespace",
                                  "metadata": {"name": namespace, "labels": RESTRICTED}}),
            )  # fmt: skip
        crds = [*sorted((CHART / "crds").glob("*.yaml"))]
        for crd in crds:
            plane.run_kubectl("apply", "--server-side", "-f", str(crd))
        plane.run_kubectl(
            "apply", "--server-side", "-f", "-",
            input="\n---\n".join(json.dumps(crd) for crd in THIRD_PARTY_CRDS),
        )  # fmt: skip
        plane.run_kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd", "--all")
        yield plane


@pytest.mark.parametrize("values", sorted(VALUE_SETS))
def test_every_rendered_object_is_accepted_by_the_api_server(
    cp: ControlPlane, helm: Path, values: str, tmp_path: Path
) -> None:
    manifest = tmp_path / "rendered.yaml"
    manifest.write_text(
        run_helm(helm, "template", RELEASE, str(CHART), "-n", NAMESPACE,
                 *VALUE_SETS[values]).stdout
    )  # fmt: skip
    count = len([d for d in yaml.safe_load_all(manifest.read_text()) if d])
    proc = cp.run_kubectl(
        "apply", "--dry-run=server", "--validate=strict", "--server-side",
        "--field-manager=helm-test", "-f", str(manifest), "-o", "name",
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.split()) == count
    # Pod Security "restricted" is enforced in these namespaces and warns on pod templates.
    assert "PodSecurity" not in proc.stderr, proc.stderr
    assert "Warning" not in proc.stderr, proc.stderr


def test_the_chart_example_chatgroup_is_accepted(cp: ControlPlane) -> None:
    proc = cp.run_kubectl(
        "apply", "--dry-run=server", "--validate=strict", "-n", NAMESPACE,
        "-f", str(CHART / "examples" / "chatgroup.yaml"), check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def _secret_data(cp: ControlPlane, name: str) -> dict[str, str]:
    proc = cp.run_kubectl("get", "secret", name, "-n", NAMESPACE, "-o", "json")
    data: dict[str, str] = json.loads(proc.stdout)["data"]
    return data


def test_helm_install_upgrade_uninstall(cp: ControlPlane) -> None:
    full = f"{RELEASE}-telesniff"
    cp.run_helm("install", RELEASE, str(CHART), "-n", NAMESPACE, "--timeout", "2m")
    try:
        status = json.loads(cp.run_helm("status", RELEASE, "-n", NAMESPACE, "-o", "json").stdout)
        assert status["info"]["status"] == "deployed"
        first = _secret_data(cp, f"{full}-webhook-tls")

        # An upgrade keeps the webhook CA and certificate (looked up, not regenerated).
        cp.run_helm(
            "upgrade", RELEASE, str(CHART), "-n", NAMESPACE, "--reuse-values",
            "--set", "gateway.replicas=3",
        )  # fmt: skip
        assert _secret_data(cp, f"{full}-webhook-tls") == first
        gateway = json.loads(
            cp.run_kubectl("get", "deploy", f"{full}-gateway", "-n", NAMESPACE, "-o", "json").stdout
        )
        assert gateway["spec"]["replicas"] == 3

        # The operator's ServiceAccount can do its job and nothing more.
        sa = f"system:serviceaccount:{NAMESPACE}:{full}-operator"
        allowed = [
            ("list", "chatgroups.telesniff.dev", "traders"),
            # (kubectl auth can-i: TYPE/NAME; subresources by --subresource)
            ("patch", "chatgroups.telesniff.dev --subresource=status", "traders"),
            ("update", "chatgroups.telesniff.dev --subresource=finalizers", "traders"),
            ("create", "statefulsets.apps", "traders"),
            ("patch", "configmaps", "traders"),
            ("get", "secrets", "traders"),
            ("create", "events", "traders"),
            ("patch", "clusterkopfpeerings.kopf.dev", ""),
            ("create", "validatingwebhookconfigurations.admissionregistration.k8s.io", ""),
            ("create", "mutatingwebhookconfigurations.admissionregistration.k8s.io", ""),
            (
                "patch",
                f"mutatingwebhookconfigurations.admissionregistration.k8s.io/{full}"
                ".chatgroups.telesniff.dev",
                "",
            ),
        ]
        denied = [
            ("create", "secrets", "traders"),
            ("list", "secrets", "traders"),
            ("delete", "configmaps", "traders"),
            ("delete", "statefulsets.apps", "traders"),
            ("patch", "validatingwebhookconfigurations.admissionregistration.k8s.io", ""),
            ("patch", "validatingwebhookconfigurations.admissionregistration.k8s.io/x", ""),
            ("update", "chatgroups.telesniff.dev --subresource=status", "traders"),
            ("delete", "chatgroups.telesniff.dev", "traders"),
            ("create", "pods", "traders"),
            ("create", "deployments.apps", "traders"),
            ("delete", "validatingwebhookconfigurations.admissionregistration.k8s.io", ""),
            ("create", "clusterrolebindings.rbac.authorization.k8s.io", ""),
        ]
        for verb, resource, namespace in allowed + denied:
            scope = ["-n", namespace] if namespace else []
            proc = cp.run_kubectl(
                "auth", "can-i", verb, *resource.split(), *scope, f"--as={sa}", check=False
            )
            expected = "yes" if (verb, resource, namespace) in allowed else "no"
            assert proc.stdout.strip() == expected, (verb, resource, namespace, proc.stderr)
    finally:
        cp.run_helm("uninstall", RELEASE, "-n", NAMESPACE, "--wait", "--timeout", "2m")
    left = cp.run_kubectl(
        "get", "deploy,sts,svc,secret,sa", "-n", NAMESPACE,
        "-l", f"app.kubernetes.io/instance={RELEASE}", "-o", "name",
    ).stdout.split()  # fmt: skip
    assert left == []


def test_helm_install_with_every_feature(cp: ControlPlane) -> None:
    release = "af"
    full = f"{release}-telesniff"
    cp.run_helm(
        "install", release, str(CHART), "-n", NAMESPACE, "-f", str(ALL_FEATURES),
        "--timeout", "2m",
    )  # fmt: skip
    try:
        status = json.loads(cp.run_helm("status", release, "-n", NAMESPACE, "-o", "json").stdout)
        assert status["info"]["status"] == "deployed"
        for namespace in ("traders", "research"):
            names = cp.run_kubectl(
                "get", "role,rolebinding,kopfpeering", "-n", namespace, "-o", "name",
            ).stdout.split()  # fmt: skip
            assert sorted(names) == sorted(
                [
                    f"role.rbac.authorization.k8s.io/{full}-operator",
                    f"rolebinding.rbac.authorization.k8s.io/{full}-operator",
                    f"kopfpeering.kopf.dev/{full}",
                ]
            )
        # The namespaced operator may act in its namespaces and nowhere else.
        sa = f"system:serviceaccount:{NAMESPACE}:{full}-operator"
        for namespace, expected in (("traders", "yes"), ("research", "yes"), ("tele", "no")):
            proc = cp.run_kubectl(
                "auth", "can-i", "watch", "chatgroups.telesniff.dev", "-n", namespace,
                f"--as={sa}", check=False,
            )  # fmt: skip
            assert proc.stdout.strip() == expected, (namespace, proc.stderr)
    finally:
        cp.run_helm("uninstall", release, "-n", NAMESPACE, "--wait", "--timeout", "2m")
    left = cp.run_kubectl(
        "get", "deploy,sts,svc,secret,sa,role,rolebinding,kopfpeering", "-A",
        "-l", f"app.kubernetes.io/instance={release}", "-o", "name",
    ).stdout.split()  # fmt: skip
    assert left == []


def test_dashboards_and_rules_are_accepted_by_the_api_server(
    cp: ControlPlane, helm: Path, chart_with_monitoring_files: Path, tmp_path: Path
) -> None:
    docs = render(
        helm,
        "-f",
        str(ALL_FEATURES),
        chart=chart_with_monitoring_files,
    )
    monitoring = [
        doc
        for doc in docs
        if doc["kind"] == "PrometheusRule"
        or (doc["kind"] == "ConfigMap" and "grafana_dashboard" in doc["metadata"]["labels"])
    ]
    shipped = len(list((CHART / "files" / "dashboards").glob("*.json")))
    assert len(monitoring) == 2 + shipped  # the test's dashboard, the rules, the shipped ones
    manifest = tmp_path / "monitoring.yaml"
    manifest.write_text("\n---\n".join(json.dumps(doc) for doc in monitoring))
    proc = cp.run_kubectl(
        "apply", "--dry-run=server", "--validate=strict", "--server-side", "-f", str(manifest),
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
