"""The operator exactly as the chart configures it for some namespaces, with its admission
webhook reached the way a cluster reaches it: through the chart's webhook Service, with the
certificate Helm made for that Service.

The chart is installed with ``operator.watchNamespaces=[traders]``; the operator runs with
the chart's arguments (``--namespace traders``), its whole environment (webhook Service
name, namespace and port, the TLS Secret's files, the configuration name, the peering
name, POD_ID and POD_NAMESPACE from the downward API) and its ServiceAccount's token
(ClusterRole plus a Role in ``traders``). Only Redis (a local Valkey) and the liveness and
metrics ports (free local ports) differ.

No pod runs here and there is no kube-proxy, so this test plays the endpoint controller:
an EndpointSlice for the webhook Service names this host's address and the container's
webhook port, and the API server (``--enable-aggregator-routing``) resolves the Service
through it, as it would to a ready operator pod. The call then goes to
``https://<address>:9443/chatgroup`` with TLS server name
``<fullname>-webhook.<namespace>.svc``, verified against the caBundle the operator
published: the chart's Service, port mapping, certificate and the operator's settings must
all agree for a ChatGroup to be admitted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.k8s.chart_operator import (
    ChartPod,
    OperatorProcess,
    eventually,
    find,
    free_port,
    get_or_none,
    host_address,
    install_chart,
    port_is_free,
    service_account_kubeconfig,
)
from tests.k8s.controlplane import ControlPlane

pytestmark = pytest.mark.k8s

REPO = Path(__file__).resolve().parents[2]
RELEASE, RELEASE_NS = "desk", "telesniff-system"
FULL = "desk-telesniff"
WATCHED, OTHER = "traders", "research"
VALUES = (
    "--set", f"operator.watchNamespaces={{{WATCHED}}}",
    "--set", "operator.replicas=0",
    "--set", "image.repository=registry.test/telesniff",
    "--set", "image.tag=test",
)  # fmt: skip
CONFIGURATION = f"{FULL}.chatgroups.telesniff.dev"
ADMISSION = "/apis/admissionregistration.k8s.io/v1"
GROUPS = f"/apis/telesniff.dev/v1alpha1/namespaces/{WATCHED}/chatgroups"
STATEFULSETS = f"/apis/apps/v1/namespaces/{WATCHED}/statefulsets"


class Setup:
    def __init__(self, cp: ControlPlane, release: list[dict[str, Any]], address: str) -> None:
        self.cp = cp
        self.release = release
        self.address = address
        self.operator: OperatorProcess | None = None

    def logs(self) -> str:
        return self.operator.log()[-5000:] if self.operator else ""

    def eventually(self, check: Any, what: str, timeout: float = 60) -> Any:
        return eventually(check, what, timeout=timeout, logs=self.logs)

    def get(self, path: str) -> Any:
        return get_or_none(self.cp, path)

    def kubectl(self, *args: str) -> Any:
        return self.cp.run_kubectl(*args, check=False)


@pytest.fixture(scope="module")
def setup(valkey_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    address = host_address()
    if address is None:
        pytest.skip("this host has no non-loopback IPv4 address for an EndpointSlice")
    args = ["--enable-aggregator-routing=true"]
    with ControlPlane(controller_manager=False, apiserver_args=args) as cp:
        for namespace in (WATCHED, OTHER):
            cp.run_kubectl("create", "namespace", namespace)
        setup = Setup(cp, install_chart(cp, RELEASE, RELEASE_NS, *VALUES), address)
        deployment = find(setup.release, "Deployment", f"{FULL}-operator")
        pod = ChartPod(
            cp,
            deployment,
            name=f"{FULL}-operator-7d9f-x2x4q",
            workdir=tmp_path_factory.mktemp("op"),
        )
        # The Service's targetPort names a container port; use it unless this host has it
        # taken (then another port stands in for the pod's own network namespace).
        service = find(setup.release, "Service", f"{FULL}-webhook")
        (service_port,) = service["spec"]["ports"]
        port = pod.port(service_port["targetPort"])
        overrides: dict[str, str | None] = {
            "TELESNIFF_REDIS_URL": valkey_url,  # the chart's Redis Service does not resolve
            "TELESNIFF_OPERATOR_STATUS_INTERVAL_S": "2",
        }
        if not port_is_free(port):
            port = free_port()
            overrides["TELESNIFF_OPERATOR_WEBHOOK_PORT"] = str(port)
        endpoints = {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": f"{FULL}-webhook-test",
                "namespace": RELEASE_NS,
                "labels": {
                    "kubernetes.io/service-name": service["metadata"]["name"],
                    "endpointslice.kubernetes.io/managed-by": "telesniff-tests",
                },
            },
            "addressType": "IPv4",
            "ports": [{"name": service_port["name"], "port": port, "protocol": "TCP"}],
            "endpoints": [
                {
                    "addresses": [address],
                    "conditions": {"ready": True},
                    "targetRef": {"kind": "Pod", "namespace": RELEASE_NS, "name": pod.name},
                }
            ],
        }
        cp.run_kubectl("apply", "-f", "-", input=yaml.safe_dump(endpoints))
        kubeconfig = service_account_kubeconfig(cp, RELEASE_NS, pod.service_account)
        setup.operator = pod.start(kubeconfig, overrides=overrides)
        try:
            setup.eventually(
                lambda: (
                    setup.get(f"{ADMISSION}/validatingwebhookconfigurations/{CONFIGURATION}") or {}
                ).get("webhooks"),
                "the webhook configuration",
            )
            yield setup
        finally:
            setup.operator.stop()


def test_the_operator_runs_with_the_charts_arguments(setup: Setup) -> None:
    deployment = find(setup.release, "Deployment", f"{FULL}-operator")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["operator", "--namespace", WATCHED]
    assert setup.operator is not None
    env = setup.operator.env
    assert env["TELESNIFF_OPERATOR_WEBHOOK_SERVICE_NAME"] == f"{FULL}-webhook"
    assert env["TELESNIFF_OPERATOR_WEBHOOK_SERVICE_NAMESPACE"] == RELEASE_NS
    assert env["TELESNIFF_OPERATOR_WEBHOOK_CONFIGURATION"] == CONFIGURATION
    # The TLS Secret's files, where the chart mounts them (here: a local copy).
    assert env["TELESNIFF_OPERATOR_WEBHOOK_CERT_FILE"].endswith("/webhook-tls/tls.crt")
    assert Path(env["TELESNIFF_OPERATOR_WEBHOOK_CA_FILE"]).is_file()


def test_the_configuration_points_at_the_charts_service_with_its_ca(setup: Setup) -> None:
    configuration = setup.get(f"{ADMISSION}/validatingwebhookconfigurations/{CONFIGURATION}")
    (webhook,) = configuration["webhooks"]
    assert webhook["name"] == f"chatgroup.{CONFIGURATION}"
    service = find(setup.release, "Service", f"{FULL}-webhook")
    (port,) = service["spec"]["ports"]
    client = webhook["clientConfig"]
    assert client["service"] == {
        "name": service["metadata"]["name"],
        "namespace": RELEASE_NS,
        "port": port["port"],
        "path": "/chatgroup",
    }
    secret = setup.cp.request("GET", f"/api/v1/namespaces/{RELEASE_NS}/secrets/{FULL}-webhook-tls")
    assert client["caBundle"] == secret["data"]["ca.crt"]
    assert setup.get(f"{ADMISSION}/mutatingwebhookconfigurations/{CONFIGURATION}") is not None


def test_a_bad_group_is_refused_by_the_webhook_through_the_service(setup: Setup) -> None:
    bad = {
        "apiVersion": "telesniff.dev/v1alpha1",
        "kind": "ChatGroup",
        "metadata": {"name": "broken"},
        "spec": {"source": "demo", "chats": ["@solana_alpha"], "patterns": ["(unclosed"]},
    }
    refused = setup.cp.run_kubectl(
        "apply", "-n", WATCHED, "-f", "-", input=yaml.safe_dump(bad), check=False
    )
    assert refused.returncode != 0
    assert f'admission webhook "chatgroup.{CONFIGURATION}" denied the request' in refused.stderr
    assert "spec.patterns: pattern '(unclosed' is not a valid regular expression" in refused.stderr


def test_the_example_is_admitted_through_the_service_and_gets_its_listener(setup: Setup) -> None:
    missing = setup.kubectl("apply", "-n", WATCHED, "-f", str(REPO / "examples/chatgroup.yaml"))
    assert missing.returncode != 0
    assert "Secret 'telegram-main' not found in namespace 'traders'" in missing.stderr
    setup.cp.run_kubectl(
        "create", "secret", "generic", "telegram-main", "-n", WATCHED,
        "--from-literal=session=1BVtsOK4Bu...", "--from-literal=api-id=123456",
        "--from-literal=api-hash=0123456789abcdef0123456789abcdef",
    )  # fmt: skip
    admitted = setup.kubectl("apply", "-n", WATCHED, "-f", str(REPO / "examples/chatgroup.yaml"))
    assert admitted.returncode == 0, admitted.stderr
    workload = setup.eventually(
        lambda: setup.get(f"{STATEFULSETS}/alpha-calls-listener"), "the listener"
    )
    pod = workload["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "registry.test/telesniff:test"
    assert container["args"] == ["listener", "--group", "/etc/telesniff/group.yaml"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["TELESNIFF_METRICS_PORT"] == "9100"
    assert env["TELESNIFF_SECRETS_DIR"] == "/run/secrets/telesniff"
    assert container["ports"][0]["containerPort"] == 9100
    assert pod["securityContext"]["runAsUser"] == 10001
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    group = setup.eventually(
        lambda: (g := setup.get(f"{GROUPS}/alpha-calls")).get("status") and g, "its status"
    )
    assert group["status"]["listener"] == "alpha-calls-listener"


def test_the_demo_example_needs_no_secret(setup: Setup) -> None:
    admitted = setup.kubectl(
        "apply", "-n", WATCHED, "-f", str(REPO / "examples/chatgroup-demo.yaml")
    )
    assert admitted.returncode == 0, admitted.stderr
    workload = setup.eventually(
        lambda: setup.get(f"{STATEFULSETS}/demo-calls-listener"), "the demo listener"
    )
    names = [v["name"] for v in workload["spec"]["template"]["spec"]["volumes"]]
    assert names == ["config", "tmp"]


def test_groups_outside_the_watched_namespaces_are_left_alone(setup: Setup) -> None:
    elsewhere = yaml.safe_load((REPO / "examples/chatgroup.yaml").read_text())
    # Not this operator's namespace: admitted unchecked (its Secret does not even exist).
    admitted = setup.cp.run_kubectl(
        "apply", "-n", OTHER, "-f", "-", input=yaml.safe_dump(elsewhere), check=False
    )
    assert admitted.returncode == 0, admitted.stderr
    time.sleep(3)
    assert setup.get(f"/apis/apps/v1/namespaces/{OTHER}/statefulsets/alpha-calls-listener") is None
    group = setup.get(f"/apis/telesniff.dev/v1alpha1/namespaces/{OTHER}/chatgroups/alpha-calls")
    assert "status" not in group
    assert not group["metadata"].get("finalizers")


def test_peering_uses_the_charts_kopfpeering_and_the_pod_name(setup: Setup) -> None:
    path = f"/apis/kopf.dev/v1/namespaces/{WATCHED}/kopfpeerings/{FULL}"
    peers = setup.eventually(lambda: setup.get(path).get("status"), "a peer")
    assert list(peers) == [f"{FULL}-operator-7d9f-x2x4q"]


def test_the_operator_never_lacked_a_permission(setup: Setup) -> None:
    assert setup.operator is not None
    log = setup.operator.log()
    assert "Not enough permissions" not in log
    assert "Not enough RBAC permissions" not in log
    assert "Forbidden" not in log
    assert " 403 " not in log
