"""The operator against a real API server, installed by the Helm chart and run with the
chart's arguments, environment and ServiceAccount (a real token, so the chart's ClusterRole
is all it may do): it creates, updates, suspends, repairs and cleans up listener workloads
for ChatGroups applied with kubectl, writes their status, and its webhook refuses bad and
duplicate-session groups. RBAC drift between the chart and the operator fails here.

What differs from a pod in a cluster, and why (see tests/k8s/chart_operator.py):
- no kubelet: pods never run, so groups stay Pending, and the tests say so;
- no kube-proxy: the API server cannot reach the chart's webhook Service, so the webhook is
  advertised by URL on 127.0.0.1 with a certificate for that address
  (tests/k8s/test_operator_chart.py covers the Service path with the chart's certificate);
- Redis is a local Valkey (the chart's in-cluster Service name does not resolve here);
- liveness and metrics listen on free local ports (two "pods" share this host).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis
import yaml
from tests.certs import self_signed
from tests.k8s.chart_operator import (
    CHART,
    ChartPod,
    OperatorProcess,
    eventually,
    fetch,
    find,
    free_port,
    install_chart,
    service_account_kubeconfig,
)
from tests.k8s.controlplane import ControlPlane, ControlPlaneError

pytestmark = pytest.mark.k8s

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs" / "operator.md"
EXAMPLE = REPO / "examples" / "chatgroup.yaml"
NS = "team"
# The release: fullname "telesniff", in namespace "telesniff", with the default values but
# no in-cluster operator replica (no pod could run here; the test runs its "pods") and a
# recognisable image.
RELEASE = SA_NS = "telesniff"
VALUES = (
    "--set", "operator.replicas=0",
    "--set", "image.repository=registry.test/telesniff",
    "--set", "image.tag=test",
)  # fmt: skip
LISTENER_IMAGE = "registry.test/telesniff:test"
WEBHOOK_CONFIGURATION = "telesniff.chatgroups.telesniff.dev"
WEBHOOK_NAME = f"chatgroup.{WEBHOOK_CONFIGURATION}"
PEERING = "/apis/kopf.dev/v1/clusterkopfpeerings/telesniff"
GROUPS = f"/apis/telesniff.dev/v1alpha1/namespaces/{NS}/chatgroups"
STATEFULSETS = f"/apis/apps/v1/namespaces/{NS}/statefulsets"
CONFIGMAPS = f"/api/v1/namespaces/{NS}/configmaps"
ADMISSION = "/apis/admissionregistration.k8s.io/v1"
# blockOwnerDeletion then needs `update chatgroups/finalizers`: the chart's rule is proven.
OWNER_REFERENCES = "--enable-admission-plugins=OwnerReferencesPermissionEnforcement"

T = TypeVar("T")


def doc_block(marker: str) -> str:
    """A YAML block of docs/operator.md: the tests hold the docs to what they promise."""
    text = DOCS.read_text()
    found = re.search(
        rf"<!-- {marker}:begin -->\s*```yaml\n(.*?)```\s*<!-- {marker}:end -->", text, re.S
    )
    assert found, f"no {marker} block in {DOCS}"
    return found.group(1)


class Cluster:
    """The control plane with the chart installed, plus the test's view of it."""

    def __init__(self, cp: ControlPlane, release: list[dict[str, Any]]) -> None:
        self.cp = cp
        self.release = release
        self.deployment = find(release, "Deployment", "telesniff-operator")
        self.operators: list[OperatorProcess] = []

    def get(self, path: str) -> Any:
        try:
            return self.cp.request("GET", path)
        except ControlPlaneError as error:
            if "HTTP 404" in str(error):
                return None
            raise

    def kubectl(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.cp.run_kubectl(*args, input=input, check=False)

    def apply(self, document: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        return self.kubectl("apply", "-n", NS, "-f", "-", input=yaml.safe_dump(document))

    def eventually(self, check: Callable[[], T | None], what: str, timeout: float = 60) -> T:
        """Poll ``check`` until it returns something truthy, or fail with the operators' logs."""
        result: T = eventually(
            check,
            what,
            timeout=timeout,
            logs=lambda: "\n".join(op.log()[-4000:] for op in self.operators),
        )
        return result


def chatgroup(name: str, session_key: str = "session", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "telesniff.dev/v1alpha1",
        "kind": "ChatGroup",
        "metadata": {"name": name},
        "spec": {
            "chats": ["@solana_alpha", -1001234567890],
            "keywords": ["presale"],
            "telegram": {
                "session": {"name": "tg", "key": session_key},
                "apiId": {"name": "tg", "key": "api-id"},
                "apiHash": {"name": "tg", "key": "api-hash"},
            },
            **spec,
        },
    }


def condition(group: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in group["status"]["conditions"] if c["type"] == kind)


def config_hash(workload: dict[str, Any]) -> str:
    return str(workload["spec"]["template"]["metadata"]["annotations"]["telesniff.dev/config-hash"])


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with ControlPlane(apiserver_args=[OWNER_REFERENCES]) as cp:
        cp.run_kubectl("create", "namespace", NS)
        yield Cluster(cp, install_chart(cp, RELEASE, SA_NS, *VALUES))


@pytest.fixture(scope="module")
def operator_kubeconfig(cluster: Cluster) -> Path:
    """The chart's operator ServiceAccount, through a bound token: only the chart's RBAC."""
    account = cluster.deployment["spec"]["template"]["spec"]["serviceAccountName"]
    return service_account_kubeconfig(cluster.cp, SA_NS, account)


@pytest.fixture(scope="module")
def webhook_port() -> int:
    """One port for every replica (kopf's server binds with SO_REUSEPORT): like the
    Service in a cluster, the webhook URL stays valid whichever replica is up."""
    return free_port()


@pytest.fixture(scope="module")
def webhook_tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("webhook")
    return self_signed(directory)


def start_operator(
    cluster: Cluster,
    kubeconfig: Path,
    tls: tuple[Path, Path],
    workdir: Path,
    *,
    pod: str,
    webhook_port: int,
    priority: int,
    redis_url: str,
) -> OperatorProcess:
    """One replica of the chart's operator Deployment, named ``pod``."""
    overrides: dict[str, str | None] = {
        # The chart's Redis Service name does not resolve here.
        "TELESNIFF_REDIS_URL": redis_url,
        # No kube-proxy: advertise the webhook by URL, with a certificate for 127.0.0.1.
        "TELESNIFF_OPERATOR_WEBHOOK_SERVICE_NAME": None,
        "TELESNIFF_OPERATOR_WEBHOOK_SERVICE_NAMESPACE": None,
        "TELESNIFF_OPERATOR_WEBHOOK_SERVICE_PORT": None,
        "TELESNIFF_OPERATOR_WEBHOOK_ADDR": "127.0.0.1",
        "TELESNIFF_OPERATOR_WEBHOOK_PORT": str(webhook_port),
        "TELESNIFF_OPERATOR_WEBHOOK_CERT_FILE": str(tls[0]),
        "TELESNIFF_OPERATOR_WEBHOOK_KEY_FILE": str(tls[1]),
        "TELESNIFF_OPERATOR_WEBHOOK_CA_FILE": None,
        # Faster status refreshes than the chart's 30 s; fixed peering priorities.
        "TELESNIFF_OPERATOR_STATUS_INTERVAL_S": "2",
        "TELESNIFF_OPERATOR_PRIORITY": str(priority),
    }
    replica = ChartPod(cluster.cp, cluster.deployment, name=pod, workdir=workdir)
    handle = replica.start(kubeconfig, overrides=overrides)
    cluster.operators.append(handle)
    return handle


@pytest.fixture(scope="module")
def redis_client(valkey_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(valkey_url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def operator(
    cluster: Cluster,
    operator_kubeconfig: Path,
    webhook_tls: tuple[Path, Path],
    webhook_port: int,
    valkey_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OperatorProcess]:
    handle = start_operator(
        cluster,
        operator_kubeconfig,
        webhook_tls,
        tmp_path_factory.mktemp("operator"),
        pod="telesniff-operator-a",
        webhook_port=webhook_port,
        priority=100,
        redis_url=valkey_url,
    )

    def webhook_configured() -> bool:
        configuration = cluster.get(
            f"{ADMISSION}/validatingwebhookconfigurations/{WEBHOOK_CONFIGURATION}"
        )
        return bool(configuration and configuration.get("webhooks"))

    cluster.eventually(webhook_configured, "the managed webhook configuration")
    cluster.cp.run_kubectl(
        "create",
        "secret",
        "generic",
        "tg",
        "-n",
        NS,
        "--from-literal=session=1BVtsOK4Bu...",
        "--from-literal=api-id=123456",
        "--from-literal=api-hash=0123456789abcdef0123456789abcdef",
    )
    yield handle
    for running in cluster.operators:
        running.stop()


def test_the_documented_rbac_and_peering_are_the_charts(cluster: Cluster) -> None:
    role = find(cluster.release, "ClusterRole", "telesniff-operator")
    assert yaml.safe_load(doc_block("rbac")) == role["rules"]
    documented = list(yaml.safe_load_all(doc_block("kopf-peering")))
    crds = list(yaml.safe_load_all((CHART / "crds" / "kopfpeerings.yaml").read_text()))
    assert [d for d in documented if d["kind"] == "CustomResourceDefinition"] == [
        d for d in crds if d
    ]
    (peering,) = [d for d in documented if d["kind"] == "ClusterKopfPeering"]
    installed = find(cluster.release, "ClusterKopfPeering")
    assert peering["metadata"]["name"] == installed["metadata"]["name"] == "telesniff"


def test_the_operator_runs_as_the_charts_service_account_with_its_settings(
    cluster: Cluster, operator: OperatorProcess, operator_kubeconfig: Path
) -> None:
    whoami = cluster.cp.run_kubectl("auth", "whoami", "-o", "json", kubeconfig=operator_kubeconfig)
    user = json.loads(whoami.stdout)["status"]["userInfo"]
    assert user["username"] == "system:serviceaccount:telesniff:telesniff-operator"
    assert "system:masters" not in user.get("groups", [])
    (container,) = cluster.deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["operator", "--all-namespaces"]
    env = operator.env
    assert env["POD_ID"] == "telesniff-operator-a"  # downward API: metadata.name
    assert env["POD_NAMESPACE"] == "telesniff"
    assert env["TELESNIFF_OPERATOR_LISTENER_IMAGE"] == LISTENER_IMAGE
    assert env["TELESNIFF_OPERATOR_WEBHOOK_CONFIGURATION"] == WEBHOOK_CONFIGURATION
    assert env["TELESNIFF_OPERATOR_PEERING_NAME"] == "telesniff"
    assert env["TELESNIFF_STREAM"] == "telesniff:messages"
    # kopf's peering identity is the pod's name.
    peers = cluster.eventually(lambda: cluster.get(PEERING).get("status"), "a peer")
    assert "telesniff-operator-a" in peers


def test_the_operator_serves_liveness_and_metrics(operator: OperatorProcess) -> None:
    text = fetch(operator.metrics)
    assert "telesniff_operator_reconciles_total" in text
    assert 'telesniff_operator_chatgroups{phase="Running"}' in text


def test_the_webhook_configurations_are_managed(
    cluster: Cluster, operator: OperatorProcess
) -> None:
    # kopf creates and patches a validating and a mutating configuration, both named as
    # the chart says (the only resourceName its RBAC may patch).
    configuration = cluster.get(
        f"{ADMISSION}/validatingwebhookconfigurations/{WEBHOOK_CONFIGURATION}"
    )
    (webhook,) = configuration["webhooks"]
    assert webhook["name"] == WEBHOOK_NAME
    assert webhook["clientConfig"]["url"].startswith("https://127.0.0.1:")
    assert webhook["failurePolicy"] == "Fail"  # the chart's operator.webhook.failurePolicy
    (rule,) = webhook["rules"]
    assert rule["apiGroups"] == ["telesniff.dev"]
    assert rule["resources"] == ["chatgroups"]
    assert sorted(rule["operations"]) == ["CREATE", "UPDATE"]
    mutating = cluster.get(f"{ADMISSION}/mutatingwebhookconfigurations/{WEBHOOK_CONFIGURATION}")
    assert mutating is not None
    assert not mutating.get("webhooks")


def test_a_new_group_gets_its_config_and_listener(
    cluster: Cluster, operator: OperatorProcess
) -> None:
    applied = cluster.apply(chatgroup("alpha"))
    assert applied.returncode == 0, applied.stderr
    group = cluster.get(f"{GROUPS}/alpha")
    workload = cluster.eventually(
        lambda: cluster.get(f"{STATEFULSETS}/alpha-listener"), "the StatefulSet"
    )
    config = cluster.eventually(
        lambda: cluster.get(f"{CONFIGMAPS}/alpha-listener-config"), "the ConfigMap"
    )

    assert workload["spec"]["replicas"] == 1
    for child in (workload, config):
        (owner,) = child["metadata"]["ownerReferences"]
        assert owner == {
            "apiVersion": "telesniff.dev/v1alpha1",
            "kind": "ChatGroup",
            "name": "alpha",
            "uid": group["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
        assert child["metadata"]["labels"]["app.kubernetes.io/name"] == "telesniff-listener"
        assert child["metadata"]["labels"]["telesniff.dev/chatgroup"] == "alpha"
    document = yaml.safe_load(config["data"]["group.yaml"])
    assert document["metadata"] == {"name": "alpha", "namespace": NS}
    assert document["spec"]["keywords"] == ["presale"]
    pod = workload["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == LISTENER_IMAGE
    assert container["args"] == ["listener", "--group", "/etc/telesniff/group.yaml"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["TELESNIFF_STREAM"] == "telesniff:messages"
    assert env["TELESNIFF_METRICS_PORT"] == "9100"  # the chart's operator.listener.metricsPort
    assert container["ports"] == [{"name": "metrics", "containerPort": 9100, "protocol": "TCP"}]
    for probe in ("livenessProbe", "readinessProbe"):
        get = container[probe]["httpGet"]  # (the API server adds scheme: HTTP)
        assert (get["path"], get["port"]) == ("/healthz", "metrics")
    assert pod["securityContext"]["runAsUser"] == 10001
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    telegram = next(v for v in pod["volumes"] if v["name"] == "telegram")
    paths = [s["secret"]["items"][0]["path"] for s in telegram["projected"]["sources"]]
    assert paths == [
        "telesniff_telegram_session",
        "telesniff_telegram_api_id",
        "telesniff_telegram_api_hash",
    ]


def test_status_reports_the_real_state(cluster: Cluster, operator: OperatorProcess) -> None:
    def settled() -> dict[str, Any] | None:
        # First RollingOut, until the StatefulSet controller has seen the new StatefulSet.
        group = cluster.get(f"{GROUPS}/alpha")
        return group if condition(group, "Ready")["reason"] == "ListenerNotReady" else None

    group = cluster.eventually(settled, "a settled status")
    status = group["status"]
    # No kubelet runs the pod, so the listener never becomes ready: Pending, honestly.
    assert status["phase"] == "Pending"
    assert condition(group, "Ready")["status"] == "False"
    assert (
        condition(group, "Ready")["message"]
        == "0/1 listener pods of StatefulSet alpha-listener are ready"
    )
    assert condition(group, "SessionValid")["status"] == "True"
    assert status["observedGeneration"] == group["metadata"]["generation"]
    assert status["listener"] == "alpha-listener"
    assert status["chats"] == 2


def test_counters_come_from_redis(
    cluster: Cluster, operator: OperatorProcess, redis_client: redis.Redis
) -> None:
    redis_client.hset(
        "telesniff:group:alpha:stats",
        mapping={"messages": 42, "detections": 7, "last_message_at": 1767225600},
    )

    def counted() -> dict[str, Any] | None:
        status = cluster.get(f"{GROUPS}/alpha")["status"]
        return status if status.get("messages") == 42 else None

    status = cluster.eventually(counted, "the counters in the status")
    assert status["detections"] == 7
    assert status["lastMessageTime"] == "2026-01-01T00:00:00Z"
    table = cluster.kubectl("get", "cg", "alpha", "-n", NS).stdout.split("\n")
    assert table[0].split()[:5] == ["NAME", "PHASE", "CHATS", "MESSAGES", "DETECTIONS"]
    assert table[1].split()[:5] == ["alpha", "Pending", "2", "42", "7"]


def test_a_spec_change_rolls_the_listener(cluster: Cluster, operator: OperatorProcess) -> None:
    before = config_hash(cluster.get(f"{STATEFULSETS}/alpha-listener"))
    patched = cluster.kubectl(
        "patch",
        "cg",
        "alpha",
        "-n",
        NS,
        "--type=merge",
        "-p",
        '{"spec": {"keywords": ["airdrop"]}}',
    )
    assert patched.returncode == 0, patched.stderr
    workload = cluster.eventually(
        lambda: (
            (w := cluster.get(f"{STATEFULSETS}/alpha-listener")) and config_hash(w) != before and w
        ),
        "a new config hash",
    )
    config = cluster.get(f"{CONFIGMAPS}/alpha-listener-config")
    assert yaml.safe_load(config["data"]["group.yaml"])["spec"]["keywords"] == ["airdrop"]
    status = cluster.eventually(
        lambda: (
            (g := cluster.get(f"{GROUPS}/alpha"))["status"].get("observedGeneration") == 2 and g
        ),
        "observedGeneration 2",
    )["status"]
    assert status["configHash"] == config_hash(workload)


def test_suspend_scales_to_zero_and_back(cluster: Cluster, operator: OperatorProcess) -> None:
    def patch_suspend(value: bool) -> None:
        body = json.dumps({"spec": {"suspend": value}})
        result = cluster.kubectl("patch", "cg", "alpha", "-n", NS, "--type=merge", "-p", body)
        assert result.returncode == 0, result.stderr

    patch_suspend(True)
    cluster.eventually(
        lambda: cluster.get(f"{STATEFULSETS}/alpha-listener")["spec"]["replicas"] == 0, "replicas 0"
    )
    cluster.eventually(
        lambda: cluster.get(f"{GROUPS}/alpha")["status"]["phase"] == "Suspended", "phase Suspended"
    )
    patch_suspend(False)
    cluster.eventually(
        lambda: cluster.get(f"{STATEFULSETS}/alpha-listener")["spec"]["replicas"] == 1, "replicas 1"
    )
    cluster.eventually(
        lambda: cluster.get(f"{GROUPS}/alpha")["status"]["phase"] == "Pending", "phase Pending"
    )


def test_a_deleted_listener_is_restored(cluster: Cluster, operator: OperatorProcess) -> None:
    old_uid = cluster.get(f"{STATEFULSETS}/alpha-listener")["metadata"]["uid"]
    deleted = cluster.kubectl("delete", "statefulset", "alpha-listener", "-n", NS, "--wait=false")
    assert deleted.returncode == 0, deleted.stderr
    restored = cluster.eventually(
        lambda: (
            (w := cluster.get(f"{STATEFULSETS}/alpha-listener"))
            and w["metadata"]["uid"] != old_uid
            and w
        ),
        "the StatefulSet to come back",
    )
    assert restored["spec"]["replicas"] == 1


def test_an_edited_listener_is_restored(cluster: Cluster, operator: OperatorProcess) -> None:
    generation = cluster.get(f"{STATEFULSETS}/alpha-listener")["metadata"]["generation"]
    scaled = cluster.kubectl("scale", "statefulset", "alpha-listener", "-n", NS, "--replicas=2")
    assert scaled.returncode == 0, scaled.stderr

    def reverted() -> bool:
        workload = cluster.get(f"{STATEFULSETS}/alpha-listener")
        # generation + 1 is the edit, + 2 the operator putting its replica count back.
        return bool(
            workload["spec"]["replicas"] == 1
            and workload["metadata"]["generation"] >= generation + 2
        )

    cluster.eventually(reverted, "replicas back to 1 after the edit")


def test_a_deleted_or_edited_config_is_restored(
    cluster: Cluster, operator: OperatorProcess
) -> None:
    original = cluster.get(f"{CONFIGMAPS}/alpha-listener-config")["data"]
    cluster.cp.request(
        "PATCH",
        f"{CONFIGMAPS}/alpha-listener-config",
        {"data": {"group.yaml": "spec: {chats: [1]}\n"}},
        content_type="application/merge-patch+json",
    )
    cluster.eventually(
        lambda: cluster.get(f"{CONFIGMAPS}/alpha-listener-config")["data"] == original,
        "the config restored",
    )
    cluster.kubectl("delete", "configmap", "alpha-listener-config", "-n", NS)
    cluster.eventually(
        lambda: cluster.get(f"{CONFIGMAPS}/alpha-listener-config"), "the config recreated"
    )


def test_the_webhook_refuses_an_invalid_regex(cluster: Cluster, operator: OperatorProcess) -> None:
    refused = cluster.apply(chatgroup("broken", session_key="other", patterns=["(unclosed"]))
    assert refused.returncode != 0
    assert f'admission webhook "{WEBHOOK_NAME}" denied the request' in refused.stderr
    assert "spec.patterns: pattern '(unclosed' is not a valid regular expression" in refused.stderr
    assert cluster.get(f"{GROUPS}/broken") is None


def test_the_webhook_refuses_a_bad_chat_and_a_missing_secret(
    cluster: Cluster, operator: OperatorProcess
) -> None:
    bad_chat = cluster.apply(chatgroup("badchat", session_key="other", chats=["not a chat"]))
    assert bad_chat.returncode != 0
    assert "spec.chats" in bad_chat.stderr
    assert "t.me link" in bad_chat.stderr
    missing = chatgroup("nosecret")
    missing["spec"]["telegram"]["session"]["name"] = "absent"
    refused = cluster.apply(missing)
    assert refused.returncode != 0
    assert "spec.telegram.session: Secret 'absent' not found in namespace 'team'" in refused.stderr


def test_the_webhook_refuses_a_second_group_on_the_same_session(
    cluster: Cluster, operator: OperatorProcess
) -> None:
    refused = cluster.apply(chatgroup("beta"))
    assert refused.returncode != 0
    assert "already used by ChatGroup 'alpha'" in refused.stderr
    assert cluster.get(f"{GROUPS}/beta") is None
    metrics = fetch(operator.metrics)
    assert 'telesniff_operator_webhook_rejections_total{reason="duplicate_session"} 1.0' in metrics
    # The same group with its own session key is fine.
    cluster.cp.run_kubectl(
        "patch", "secret", "tg", "-n", NS, "--type=merge", "-p", '{"stringData": {"beta": "s2"}}'
    )
    accepted = cluster.apply(chatgroup("beta", session_key="beta"))
    assert accepted.returncode == 0, accepted.stderr
    cluster.eventually(lambda: cluster.get(f"{STATEFULSETS}/beta-listener"), "beta's listener")


def test_deleting_a_group_removes_its_children(cluster: Cluster, operator: OperatorProcess) -> None:
    uid = cluster.get(f"{GROUPS}/beta")["metadata"]["uid"]
    deleted = cluster.kubectl("delete", "cg", "beta", "-n", NS, "--wait=false")
    assert deleted.returncode == 0, deleted.stderr
    cluster.eventually(lambda: cluster.get(f"{GROUPS}/beta") is None, "the group gone")
    if cluster.cp.controller_manager:
        # The garbage collector follows the owner references.
        cluster.eventually(
            lambda: cluster.get(f"{STATEFULSETS}/beta-listener") is None, "listener gone"
        )
        cluster.eventually(
            lambda: cluster.get(f"{CONFIGMAPS}/beta-listener-config") is None, "config gone"
        )
    else:
        # No garbage collector here: the children stay, pointing at the deleted owner,
        # and the operator does not resurrect or re-own them.
        workload = cluster.get(f"{STATEFULSETS}/beta-listener")
        assert workload["metadata"]["ownerReferences"][0]["uid"] == uid


def test_the_example_is_admitted_and_gets_its_listener(
    cluster: Cluster, operator: OperatorProcess
) -> None:
    # As examples/chatgroup.yaml says: its Secret first, then the group.
    cluster.cp.run_kubectl(
        "create", "secret", "generic", "telegram-main", "-n", NS,
        "--from-literal=session=1BVtsOK4Bu...", "--from-literal=api-id=123456",
        "--from-literal=api-hash=0123456789abcdef0123456789abcdef",
    )  # fmt: skip
    applied = cluster.kubectl("apply", "-n", NS, "-f", str(EXAMPLE))
    assert applied.returncode == 0, applied.stderr
    workload = cluster.eventually(
        lambda: cluster.get(f"{STATEFULSETS}/alpha-calls-listener"), "the example's listener"
    )
    assert workload["spec"]["replicas"] == 1
    deleted = cluster.kubectl("delete", "-n", NS, "-f", str(EXAMPLE), "--timeout=60s")
    assert deleted.returncode == 0, deleted.stderr


def test_a_telegram_group_without_secrets_is_refused(cluster: Cluster) -> None:
    group = chatgroup("nosecrets")
    del group["spec"]["telegram"]
    refused = cluster.apply(group)
    assert refused.returncode != 0
    assert "spec.telegram is required when spec.source is telegram" in refused.stderr
    assert cluster.get(f"{GROUPS}/nosecrets") is None


def test_a_demo_group_runs_without_secrets(cluster: Cluster, operator: OperatorProcess) -> None:
    applied = cluster.kubectl("apply", "-n", NS, "-f", str(REPO / "examples/chatgroup-demo.yaml"))
    assert applied.returncode == 0, applied.stderr
    workload = cluster.eventually(
        lambda: cluster.get(f"{STATEFULSETS}/demo-calls-listener"), "the demo listener"
    )
    pod = workload["spec"]["template"]["spec"]
    assert [volume["name"] for volume in pod["volumes"]] == ["config", "tmp"]
    config = cluster.get(f"{CONFIGMAPS}/demo-calls-listener-config")
    assert yaml.safe_load(config["data"]["group.yaml"])["spec"]["source"] == "demo"
    group = cluster.eventually(
        lambda: (g := cluster.get(f"{GROUPS}/demo-calls")).get("status") and g, "its status"
    )
    assert condition(group, "SessionValid")["reason"] == "NotRequired"
    assert group["status"]["phase"] == "Pending"  # no kubelet
    deleted = cluster.kubectl("delete", "cg", "demo-calls", "-n", NS, "--timeout=60s")
    assert deleted.returncode == 0, deleted.stderr


def test_a_standby_replica_takes_over(
    cluster: Cluster,
    operator: OperatorProcess,
    operator_kubeconfig: Path,
    webhook_tls: tuple[Path, Path],
    webhook_port: int,
    valkey_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    standby = start_operator(
        cluster,
        operator_kubeconfig,
        webhook_tls,
        tmp_path_factory.mktemp("standby"),
        pod="telesniff-operator-b",
        webhook_port=webhook_port,
        priority=50,
        redis_url=valkey_url,
    )

    def peers() -> dict[str, Any] | None:
        status = cluster.get(PEERING).get("status") or {}
        return status if len(status) == 2 else None

    found = cluster.eventually(peers, "two peers")
    assert set(found) == {"telesniff-operator-a", "telesniff-operator-b"}  # POD_ID
    priorities = sorted(peer["priority"] for peer in found.values())
    assert priorities == [50, 100]
    # The standby waits: a new group is handled by the active replica only.
    applied = cluster.apply(chatgroup("delta", session_key="beta"))
    assert applied.returncode == 0, applied.stderr
    cluster.eventually(lambda: cluster.get(f"{STATEFULSETS}/delta-listener"), "delta's listener")
    assert 'telesniff_operator_reconciles_total{result="ok"}' not in fetch(standby.metrics)
    assert 'telesniff_operator_reconciles_total{result="ok"}' in fetch(operator.metrics)

    operator.stop()
    assert operator.process.returncode == 0, operator.log()[-3000:]
    cluster.eventually(lambda: "Resuming operations" in standby.log(), "the standby to resume")
    # It resumes every group (level-based) and handles new ones.
    cluster.eventually(
        lambda: 'telesniff_operator_reconciles_total{result="ok"}' in fetch(standby.metrics),
        "the standby reconciling",
    )
    deleted = cluster.kubectl("delete", "cg", "delta", "-n", NS, "--timeout=60s")
    assert deleted.returncode == 0, deleted.stderr  # the standby removed kopf's finalizer
    applied = cluster.apply(chatgroup("gamma", session_key="beta"))
    assert applied.returncode == 0, applied.stderr
    cluster.eventually(lambda: cluster.get(f"{STATEFULSETS}/gamma-listener"), "gamma's listener")


def test_the_operator_never_lacked_a_permission(
    cluster: Cluster, operator: OperatorProcess
) -> None:
    assert len(cluster.operators) == 2
    for replica in cluster.operators:
        log = replica.log()
        assert "Not enough permissions" not in log
        assert "Not enough RBAC permissions" not in log
        assert "Forbidden" not in log
        assert " 403 " not in log
