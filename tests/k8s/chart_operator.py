"""The operator exactly as the Helm chart deploys it, run against the test control plane.

``install_chart`` installs the chart for real (``helm install``). ``ChartPod`` takes the
operator Deployment the chart rendered and plays the kubelet for its one container: it
resolves the container's environment (plain values, downward-API fields, Secret and
ConfigMap keys), materialises its volumes (Secrets, emptyDirs) in a directory and remaps
paths under their mount points, and runs the container's ``args`` with the image's
entrypoint (``python -m telesniff``), authenticated as the chart's ServiceAccount through a
real token (TokenRequest API, ``kubectl create token``). Its RBAC is therefore the chart's
ClusterRole/Roles and nothing else.

What a test changes on top of that is passed as ``overrides``, each with its reason (a
local Redis instead of the in-cluster Service name; free local ports, since several
"pods" share this host's network namespace). There is no kubelet, scheduler or
kube-proxy: no pod ever runs, and nothing reaches a Service's ClusterIP.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from tests.k8s.controlplane import ControlPlane, ControlPlaneError

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "telesniff"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = "0.0.0.0") -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def host_address() -> str | None:
    """A non-loopback IPv4 address of this host (the API server refuses loopback
    addresses in EndpointSlices), or None when there is none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.123", 9))  # no packet is sent: this only picks a route
        except OSError:
            return None
        address = str(sock.getsockname()[0])
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
        return str(response.read().decode())


def install_chart(
    cp: ControlPlane, release: str, namespace: str, *values: str
) -> list[dict[str, Any]]:
    """``helm install`` (CRDs from crds/ included); returns the release's manifest."""
    cp.run_helm(
        "install", release, str(CHART), "-n", namespace, "--create-namespace",
        "--timeout", "2m", *values,
    )  # fmt: skip
    manifest = cp.run_helm("get", "manifest", release, "-n", namespace).stdout
    return [doc for doc in yaml.safe_load_all(manifest) if doc]


def find(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [
        doc
        for doc in docs
        if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} in the release"
    return found[0]


def service_account_kubeconfig(cp: ControlPlane, namespace: str, name: str) -> Path:
    """A kubeconfig with a bound token of the ServiceAccount (``kubectl create token``)."""
    token = cp.run_kubectl("create", "token", name, "-n", namespace).stdout.strip()
    return cp.kubeconfig_for_token(token, user=f"system:serviceaccount:{namespace}:{name}")


@dataclass
class OperatorProcess:
    process: subprocess.Popen[bytes]
    log_path: Path
    liveness: str
    metrics: str
    env: dict[str, str]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def wait_live(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the operator exited with {self.process.returncode}:\n{self.log()}"
                )
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(  # noqa: S310
                    self.liveness, timeout=2
                ) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.2)
        raise AssertionError(f"no liveness answer from {self.liveness}:\n{self.log()}")


@dataclass
class ChartPod:
    """One pod of the chart's operator Deployment, as a local process."""

    cp: ControlPlane
    deployment: dict[str, Any]
    name: str
    workdir: Path
    mounts: dict[str, Path] = field(default_factory=dict)

    @property
    def namespace(self) -> str:
        return str(self.deployment["metadata"]["namespace"])

    @property
    def pod_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = self.deployment["spec"]["template"]["spec"]
        return spec

    @property
    def container(self) -> dict[str, Any]:
        (container,) = self.pod_spec["containers"]
        return dict(container)

    @property
    def service_account(self) -> str:
        return str(self.pod_spec["serviceAccountName"])

    def port(self, name: str) -> int:
        (port,) = [p["containerPort"] for p in self.container["ports"] if p["name"] == name]
        return int(port)

    def _object(self, kind: str, name: str) -> dict[str, Any]:
        plural = {"Secret": "secrets", "ConfigMap": "configmaps"}[kind]
        found = self.cp.request("GET", f"/api/v1/namespaces/{self.namespace}/{plural}/{name}")
        return dict(found)

    def _secret(self, name: str) -> dict[str, bytes]:
        data = self._object("Secret", name).get("data") or {}
        return {key: base64.b64decode(value) for key, value in data.items()}

    def materialise(self) -> dict[str, Path]:
        """Each volume mount as a local directory (mount path → directory)."""
        volumes = {volume["name"]: volume for volume in self.pod_spec.get("volumes", [])}
        for mount in self.container.get("volumeMounts", []):
            volume = volumes[mount["name"]]
            local = self.workdir / "volumes" / mount["name"]
            local.mkdir(parents=True, exist_ok=True)
            if "secret" in volume:
                files = self._secret(volume["secret"]["secretName"])
            elif "configMap" in volume:
                data = self._object("ConfigMap", volume["configMap"]["name"]).get("data") or {}
                files = {key: str(value).encode() for key, value in data.items()}
            elif "emptyDir" in volume:
                files = {}
            else:
                raise NotImplementedError(f"volume {volume} (teach ChartPod about it)")
            for key, content in files.items():
                (local / key).write_bytes(content)
            self.mounts[mount["mountPath"]] = local
        return self.mounts

    def _local(self, value: str) -> str:
        for mount_path, local in self.mounts.items():
            if value == mount_path or value.startswith(mount_path.rstrip("/") + "/"):
                return str(local) + value[len(mount_path.rstrip("/")) :]
        return value

    def environment(self) -> dict[str, str]:
        """The container's environment as the kubelet would set it."""
        env: dict[str, str] = {}
        fields = {"metadata.name": self.name, "metadata.namespace": self.namespace}
        for item in self.container.get("env", []):
            if "value" in item:
                value = str(item["value"])
            elif "fieldRef" in item.get("valueFrom", {}):
                value = fields[item["valueFrom"]["fieldRef"]["fieldPath"]]
            elif "secretKeyRef" in item.get("valueFrom", {}):
                ref = item["valueFrom"]["secretKeyRef"]
                value = self._secret(ref["name"])[ref["key"]].decode()
            else:
                raise NotImplementedError(f"env {item} (teach ChartPod about it)")
            env[item["name"]] = self._local(value)
        return env

    def start(
        self,
        kubeconfig: Path,
        *,
        overrides: Mapping[str, str | None],
        liveness_port: int | None = None,
        metrics_port: int | None = None,
    ) -> OperatorProcess:
        """Run the container's command. ``overrides`` replace (or, with None, remove)
        variables; the liveness and metrics ports move to free local ports."""
        if not self.mounts:
            self.materialise()
        chart_env = self.environment()
        liveness_port = liveness_port or free_port()
        metrics_port = metrics_port or free_port()
        # Several "pods" share this host: their probe and metrics ports cannot all be
        # the chart's 8080/9100, so they move (the chart's values are checked separately).
        local = {
            "TELESNIFF_OPERATOR_LIVENESS_ENDPOINT": f"http://127.0.0.1:{liveness_port}/healthz",
            "TELESNIFF_OPERATOR_METRICS_ADDR": "127.0.0.1",
            "TELESNIFF_OPERATOR_METRICS_PORT": str(metrics_port),
        }
        merged: dict[str, str] = chart_env | local
        for name, value in overrides.items():
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = value
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TELESNIFF_", "POD_", "KUBECONFIG"))
        }
        base["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), base.get("PYTHONPATH", "")])
        base["KUBECONFIG"] = str(kubeconfig)
        log_path = self.workdir / f"{self.name}.log"
        # The image's entrypoint is `telesniff`; the chart gives only args.
        assert "command" not in self.container
        command = [sys.executable, "-m", "telesniff", *self.container["args"]]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                env=base | merged,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        handle = OperatorProcess(
            process,
            log_path,
            f"http://127.0.0.1:{liveness_port}/healthz",
            f"http://127.0.0.1:{metrics_port}/metrics",
            merged,
        )
        handle.wait_live()
        return handle


def eventually(
    check: Callable[[], Any], what: str, *, timeout: float = 60, logs: Callable[[], str] = str
) -> Any:
    """Poll until ``check`` returns something truthy."""
    deadline = time.monotonic() + timeout
    problem = ""
    while True:
        try:
            result = check()
        except (ControlPlaneError, KeyError, IndexError, TypeError) as error:
            result, problem = None, repr(error)
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} ({problem})\n{logs()}")
        time.sleep(0.2)


def get_or_none(cp: ControlPlane, path: str) -> Any:
    try:
        return cp.request("GET", path)
    except ControlPlaneError as error:
        if "HTTP 404" in str(error):
            return None
        raise
