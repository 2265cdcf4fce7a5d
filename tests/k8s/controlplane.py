"""A real, throwaway Kubernetes control plane for the Kubernetes test tier (envtest-style).

``ControlPlane`` runs etcd, kube-apiserver and, when it was built, kube-controller-manager
as local processes on 127.0.0.1 (random free ports, a temporary directory), with the
binaries that ``scripts/k8s-tools/build.sh`` builds from the Go module proxy and caches
outside the repo. There are no nodes: pods are stored but never run.

- Authentication: client certificates signed by a throwaway CA made with the ``openssl``
  CLI (the admin user is ``admin`` in ``system:masters``), and service-account tokens
  (TokenRequest API, signed with a throwaway key).
- Authorization: RBAC only, so a test can check least privilege with a ServiceAccount
  token (``kubeconfig_for_service_account``) or by impersonation
  (``kubeconfig_impersonating``).
- kube-controller-manager (when available) runs all default controllers as
  ``system:masters``: garbage collection of owner-referenced objects, namespace
  deletion, default ServiceAccounts, Deployments creating ReplicaSets and Pods.

Usage::

    with ControlPlane() as cp:
        subprocess.run([cp.kubectl_bin, "--kubeconfig", cp.kubeconfig, "get", "ns"])
        sa_kubeconfig = cp.kubeconfig_for_service_account("telesniff", "operator")

Environment: ``TELESNIFF_CACHE`` (binary cache, read by build.sh),
``TELESNIFF_K8S_BIN_DIR`` (use binaries from this directory and skip build.sh),
``TELESNIFF_KEEP_CONTROLPLANE=1`` (keep the temporary directory with logs after stop).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Final, TypeVar

__all__ = [
    "BUILD_SCRIPT",
    "ControlPlane",
    "ControlPlaneError",
    "ensure_binaries",
]

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
BUILD_SCRIPT: Final = REPO_ROOT / "scripts" / "k8s-tools" / "build.sh"

_SA_ISSUER: Final = "https://kubernetes.default.svc.cluster.local"
_LOG_TAIL_LINES: Final = 40

_T = TypeVar("_T")


class ControlPlaneError(RuntimeError):
    """The control plane could not be built, started or asked something."""


def ensure_binaries(*, timeout: float = 3600.0) -> Path:
    """Run build.sh (a no-op under a second when the cache is warm); return the bin dir.

    ``TELESNIFF_K8S_BIN_DIR`` short-circuits this and is returned as is.
    """
    override = os.environ.get("TELESNIFF_K8S_BIN_DIR")
    if override:
        return Path(override)
    try:
        proc = subprocess.run(
            ["bash", str(BUILD_SCRIPT)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ControlPlaneError(f"{BUILD_SCRIPT} did not finish in {timeout:.0f} s") from exc
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = "\n".join(proc.stderr.strip().splitlines()[-_LOG_TAIL_LINES:])
        raise ControlPlaneError(f"{BUILD_SCRIPT} failed (exit {proc.returncode}):\n{tail}")
    return Path(lines[-1])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _http(
    method: str,
    url: str,
    *,
    context: ssl.SSLContext | None = None,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 5.0,
) -> tuple[int, bytes]:
    """One HTTP(S) request to the local control plane: (status, body)."""
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    elif parts.scheme == "http":
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    else:
        raise ValueError(f"unsupported URL {url!r}")
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, target or "/", body=body, headers=dict(headers or {}))
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def _set_parent_death_signal() -> None:  # pragma: no cover - runs in the child
    """Ask Linux to SIGTERM the child when the thread that started it dies."""
    import ctypes

    with contextlib.suppress(Exception):  # best effort only
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)


class _Process:
    """One control-plane binary running in its own process group, logging to a file."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.popen: subprocess.Popen[bytes] = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=(
                    _set_parent_death_signal
                    if threading.current_thread() is threading.main_thread()
                    else None
                ),
            )

    def alive(self) -> bool:
        return self.popen.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            raise ControlPlaneError(
                f"{self.name} exited with {self.popen.returncode}; "
                f"last lines of {self.log_path}:\n{_tail(self.log_path)}"
            )

    def stop(self, grace: float) -> None:
        if self.popen.poll() is None:
            self._signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=grace)
        # The group may hold children even after the leader exited.
        self._signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=grace)

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)


class ControlPlane:
    """etcd + kube-apiserver (+ kube-controller-manager) on 127.0.0.1, as a context manager.

    Attributes set by ``start()`` (``__enter__``):

    - ``server``: the apiserver URL, ``https://127.0.0.1:<port>``
    - ``kubeconfig``: admin kubeconfig (user ``admin``, group ``system:masters``)
    - ``bin_dir``: directory holding kube-apiserver, etcd, helm, ... (symlinks)
    - ``ca_file``: the CA that signed the serving and client certificates
    - ``controller_manager``: True when kube-controller-manager is running
    - ``kubectl_bin`` / ``helm_bin``: paths of the tools to drive it with
    - ``work_dir``: temporary directory (certificates, etcd data, kubeconfigs, logs)
    - ``logs``: component name -> log file (inside ``work_dir``)
    - ``startup_seconds`` / ``timings``: how long ``start()`` took, in total and per step
    """

    def __init__(
        self,
        *,
        bin_dir: Path | str | None = None,
        controller_manager: bool = True,
        startup_timeout: float = 120.0,
        stop_grace: float = 10.0,
        apiserver_args: Sequence[str] = (),
        controller_manager_args: Sequence[str] = (),
        keep_work_dir: bool | None = None,
    ) -> None:
        """Configure; nothing runs until ``start()``/``with``.

        ``bin_dir``: use these binaries instead of running build.sh.
        ``controller_manager``: start kube-controller-manager if its binary exists.
        ``apiserver_args``/``controller_manager_args``: extra ``--flag=value`` arguments,
        appended last (so they win over the defaults).
        ``keep_work_dir``: keep certificates, data and logs after ``stop()`` (default:
        ``TELESNIFF_KEEP_CONTROLPLANE=1``).
        """
        self._requested_bin_dir = Path(bin_dir) if bin_dir is not None else None
        self._want_controller_manager = controller_manager
        self.startup_timeout = startup_timeout
        self.stop_grace = stop_grace
        self._apiserver_args = list(apiserver_args)
        self._kcm_args = list(controller_manager_args)
        if keep_work_dir is None:
            keep_work_dir = os.environ.get("TELESNIFF_KEEP_CONTROLPLANE", "") not in ("", "0")
        self.keep_work_dir = keep_work_dir

        self._processes: list[_Process] = []
        self._work_dir: Path | None = None
        self._server: str | None = None
        self._bin_dir: Path | None = None
        self._ssl: ssl.SSLContext | None = None
        self._counter = 0
        self.controller_manager = False
        self.logs: dict[str, Path] = {}
        self.startup_seconds: float | None = None
        self.timings: dict[str, float] = {}

    # -- public attributes -------------------------------------------------------------

    @property
    def work_dir(self) -> Path:
        return self._need(self._work_dir, "work_dir")

    @property
    def bin_dir(self) -> Path:
        return self._need(self._bin_dir, "bin_dir")

    @property
    def server(self) -> str:
        return self._need(self._server, "server")

    @property
    def kubeconfig(self) -> Path:
        self._need(self._server, "kubeconfig")
        return self.work_dir / "admin.kubeconfig"

    @property
    def ca_file(self) -> Path:
        return self.work_dir / "pki" / "ca.crt"

    @property
    def kubectl_bin(self) -> Path:
        """kubectl of the same release as the apiserver if built, else the one on PATH."""
        built = self.bin_dir / "kubectl"
        if built.exists():
            return built
        found = shutil.which("kubectl")
        if found is None:
            raise ControlPlaneError("no kubectl: neither built into bin_dir nor on PATH")
        return Path(found)

    @property
    def helm_bin(self) -> Path:
        return self.bin_dir / "helm"

    def env(self, kubeconfig: Path | None = None) -> dict[str, str]:
        """os.environ with KUBECONFIG set (admin by default) and bin_dir first on PATH."""
        env = dict(os.environ)
        env["KUBECONFIG"] = str(kubeconfig or self.kubeconfig)
        env["PATH"] = f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}"
        return env

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> ControlPlane:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Build or find the binaries, start everything, wait until it is ready."""
        if self._work_dir is not None:
            raise ControlPlaneError("already started")
        began = mark = time.monotonic()
        self.timings = {}

        def lap(what: str) -> None:
            nonlocal mark
            now = time.monotonic()
            self.timings[what] = round(now - mark, 3)
            mark = now

        bin_dir = self._requested_bin_dir or ensure_binaries()
        for name in ("etcd", "kube-apiserver"):
            if not (bin_dir / name).exists():
                raise ControlPlaneError(f"{bin_dir / name} is missing (run {BUILD_SCRIPT})")
        self._bin_dir = bin_dir
        self._work_dir = Path(tempfile.mkdtemp(prefix="telesniff-controlplane-"))
        lap("binaries")
        try:
            self._make_pki()
            lap("pki")
            deadline = time.monotonic() + self.startup_timeout
            etcd_url = self._start_etcd(deadline)
            lap("etcd")
            self._start_apiserver(etcd_url, deadline)
            self._write_kubeconfig(
                self.kubeconfig,
                {
                    "client-certificate-data": _b64(self._pki("admin.crt")),
                    "client-key-data": _b64(self._pki("admin.key")),
                },
                user="admin",
            )
            lap("kube-apiserver")
            if self._want_controller_manager and (bin_dir / "kube-controller-manager").exists():
                self._start_controller_manager(deadline)
                self.controller_manager = True
                lap("kube-controller-manager")
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        self.timings["total"] = round(self.startup_seconds, 3)

    def stop(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL) and remove the temporary directory."""
        while self._processes:
            self._processes.pop().stop(self.stop_grace)
        self.controller_manager = False
        self._server = None
        self._ssl = None
        if self._work_dir is not None and not self.keep_work_dir:
            shutil.rmtree(self._work_dir, ignore_errors=True)
        self._work_dir = None

    # -- API helpers -------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        content_type: str = "application/json",
        timeout: float = 30.0,
    ) -> Any:
        """One API call as admin; returns the decoded JSON body. Raises ControlPlaneError
        with the status and the apiserver's message on an HTTP error."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        status, raw = _http(
            method,
            self.server + path,
            context=self._admin_ssl(),
            body=data,
            headers=headers,
            timeout=timeout,
        )
        if status >= 400:
            detail = raw.decode(errors="replace")
            raise ControlPlaneError(f"{method} {path}: HTTP {status}: {detail}")
        return json.loads(raw) if raw else None

    def create_token(
        self,
        namespace: str,
        service_account: str,
        *,
        expiration_seconds: int = 3600,
        audiences: Sequence[str] = (),
    ) -> str:
        """A bound token for an existing ServiceAccount (TokenRequest API)."""
        spec: dict[str, Any] = {"expirationSeconds": expiration_seconds}
        if audiences:
            spec["audiences"] = list(audiences)
        result = self.request(
            "POST",
            f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token",
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec},
        )
        token: str = result["status"]["token"]
        return token

    def kubeconfig_for_token(
        self, token: str, *, path: Path | None = None, user: str = "token"
    ) -> Path:
        """A kubeconfig that authenticates with a bearer token (e.g. a ServiceAccount's)."""
        path = path or self._new_kubeconfig_path(user)
        self._write_kubeconfig(path, {"token": token}, user=user)
        return path

    def kubeconfig_for_service_account(
        self,
        namespace: str,
        name: str,
        *,
        create: bool = False,
        expiration_seconds: int = 3600,
        path: Path | None = None,
    ) -> Path:
        """A kubeconfig acting as ServiceAccount ``namespace/name`` through a real token.

        ``create``: create the ServiceAccount (and namespace) first when missing.
        """
        if create:
            self._ensure(
                f"/api/v1/namespaces/{namespace}",
                "/api/v1/namespaces",
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
            )
            self._ensure(
                f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}",
                f"/api/v1/namespaces/{namespace}/serviceaccounts",
                {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}},
            )
        token = self.create_token(namespace, name, expiration_seconds=expiration_seconds)
        return self.kubeconfig_for_token(
            token, path=path, user=f"system:serviceaccount:{namespace}:{name}"
        )

    def kubeconfig_impersonating(
        self,
        user: str,
        groups: Sequence[str] = (),
        *,
        path: Path | None = None,
    ) -> Path:
        """An admin kubeconfig that impersonates ``user`` (and ``groups``) on every call.

        For a ServiceAccount pass ``user="system:serviceaccount:NS:NAME"`` and
        ``groups=["system:serviceaccounts", "system:serviceaccounts:NS"]``. Clients that
        ignore the kubeconfig ``as`` fields act as admin: prefer
        ``kubeconfig_for_service_account`` for code under test.
        """
        path = path or self._new_kubeconfig_path(user)
        credentials: dict[str, Any] = {
            "client-certificate-data": _b64(self._pki("admin.crt")),
            "client-key-data": _b64(self._pki("admin.key")),
            "as": user,
        }
        if groups:
            credentials["as-groups"] = list(groups)
        self._write_kubeconfig(path, credentials, user=user)
        return path

    def run_kubectl(
        self,
        *args: str,
        kubeconfig: Path | None = None,
        input: str | None = None,
        check: bool = True,
        timeout: float = 120.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this control plane (admin unless ``kubeconfig``)."""
        return self._run(self.kubectl_bin, args, kubeconfig, input, check, timeout)

    def run_helm(
        self,
        *args: str,
        kubeconfig: Path | None = None,
        input: str | None = None,
        check: bool = True,
        timeout: float = 300.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run helm against this control plane (admin unless ``kubeconfig``)."""
        return self._run(self.helm_bin, args, kubeconfig, input, check, timeout)

    # -- internals ---------------------------------------------------------------------

    @staticmethod
    def _need(value: _T | None, what: str) -> _T:
        if value is None:
            raise ControlPlaneError(f"{what} is only known while the control plane runs")
        return value

    def _pki(self, name: str) -> Path:
        return self.work_dir / "pki" / name

    def _run(
        self,
        tool: Path,
        args: Sequence[str],
        kubeconfig: Path | None,
        input: str | None,
        check: bool,
        timeout: float,
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(tool), *args],
            env=self.env(kubeconfig),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise ControlPlaneError(
                f"{tool.name} {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}"
            )
        return proc

    def _ensure(self, get_path: str, create_path: str, body: Mapping[str, Any]) -> None:
        try:
            self.request("GET", get_path)
        except ControlPlaneError as exc:
            if "HTTP 404" not in str(exc):
                raise
            self.request("POST", create_path, body)

    def _new_kubeconfig_path(self, user: str) -> Path:
        self._counter += 1
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in user)
        return self.work_dir / f"{self._counter:03d}-{safe}.kubeconfig"

    def _write_kubeconfig(self, path: Path, credentials: Mapping[str, Any], *, user: str) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "telesniff-test",
                    "cluster": {
                        "server": self.server,
                        "certificate-authority-data": _b64(self.ca_file),
                    },
                }
            ],
            "users": [{"name": user, "user": dict(credentials)}],
            "contexts": [
                {
                    "name": "telesniff-test",
                    "context": {"cluster": "telesniff-test", "user": user, "namespace": "default"},
                }
            ],
            "current-context": "telesniff-test",
            "preferences": {},
        }
        # JSON is YAML: every kubeconfig reader accepts it.
        path.write_text(json.dumps(config, indent=2) + "\n")
        path.chmod(0o600)

    def _openssl(self, *args: str) -> None:
        proc = subprocess.run(
            ["openssl", *args],
            cwd=self.work_dir / "pki",
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise ControlPlaneError(f"openssl {' '.join(args)} failed:\n{proc.stderr}")

    def _make_pki(self) -> None:
        """CA, apiserver serving cert, client certs, service-account signing key (EC P-256)."""
        if shutil.which("openssl") is None:
            raise ControlPlaneError("the openssl CLI is needed (apt-get install openssl)")
        pki = self.work_dir / "pki"
        pki.mkdir(mode=0o700)
        (pki / "openssl.cnf").write_text(
            "[req]\n"
            "distinguished_name = dn\n"
            "prompt = no\n"
            "[dn]\n"
            "[ca]\n"
            "basicConstraints = critical, CA:TRUE\n"
            "keyUsage = critical, keyCertSign, cRLSign, digitalSignature\n"
            "subjectKeyIdentifier = hash\n"
            "[server]\n"
            "basicConstraints = critical, CA:FALSE\n"
            "keyUsage = critical, digitalSignature, keyEncipherment\n"
            "extendedKeyUsage = serverAuth\n"
            "subjectAltName = IP:127.0.0.1, DNS:localhost, DNS:kubernetes.default.svc\n"
            "authorityKeyIdentifier = keyid\n"
            "[client]\n"
            "basicConstraints = critical, CA:FALSE\n"
            "keyUsage = critical, digitalSignature, keyEncipherment\n"
            "extendedKeyUsage = clientAuth\n"
            "authorityKeyIdentifier = keyid\n"
        )
        newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        common = ["req", "-x509", "-config", "openssl.cnf", "-days", "7", *newkey]
        self._openssl(
            *common,
            "-extensions",
            "ca",
            "-subj",
            "/CN=telesniff-test-ca",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        )
        signed = [*common, "-CA", "ca.crt", "-CAkey", "ca.key"]
        self._openssl(
            *signed,
            "-extensions",
            "server",
            "-subj",
            "/CN=kube-apiserver",
            "-keyout",
            "apiserver.key",
            "-out",
            "apiserver.crt",
        )
        self._openssl(
            *signed,
            "-extensions",
            "client",
            "-subj",
            "/O=system:masters/CN=admin",
            "-keyout",
            "admin.key",
            "-out",
            "admin.crt",
        )
        self._openssl(
            "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "sa.key"
        )
        self._openssl("pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub")

    def _spawn(self, name: str, argv: Sequence[str]) -> _Process:
        log_path = self.work_dir / f"{name}.log"
        self.logs[name] = log_path
        proc = _Process(name, argv, log_path)
        self._processes.append(proc)
        return proc

    def _wait(self, proc: _Process, what: str, deadline: float, probe: Callable[[], bool]) -> None:
        """Poll ``probe()`` until it returns True; fail early if the process died."""
        last_error = ""
        while True:
            proc.check_alive()
            try:
                if probe():
                    return
            except (OSError, ValueError, http.client.HTTPException) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise ControlPlaneError(
                    f"{what} not ready after {self.startup_timeout:.0f} s ({last_error}); "
                    f"last lines of {proc.log_path}:\n{_tail(proc.log_path)}"
                )
            time.sleep(0.1)

    def _start_with_port_retry(
        self,
        name: str,
        make_argv: Callable[[], tuple[list[str], _T]],
        probe: Callable[[_T], bool],
        deadline: float,
        attempts: int = 3,
    ) -> _T:
        """Start a process on fresh free ports; retry when a port was taken meanwhile."""
        for attempt in range(attempts):
            argv, result = make_argv()
            proc = self._spawn(name, argv)
            try:
                self._wait(proc, name, deadline, lambda: probe(result))  # noqa: B023
                return result
            except ControlPlaneError:
                in_use = "address already in use" in _tail(proc.log_path, 200)
                if not in_use or attempt == attempts - 1:
                    raise
                self._processes.remove(proc)
                proc.stop(self.stop_grace)
        raise AssertionError("unreachable")

    def _start_etcd(self, deadline: float) -> str:
        data_dir = self.work_dir / "etcd"

        def make_argv() -> tuple[list[str], str]:
            shutil.rmtree(data_dir, ignore_errors=True)
            client = f"http://127.0.0.1:{_free_port()}"
            peer = f"http://127.0.0.1:{_free_port()}"
            argv = [
                str(self.bin_dir / "etcd"),
                "--name=default",
                f"--data-dir={data_dir}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=default={peer}",
                "--initial-cluster-state=new",
                "--unsafe-no-fsync=true",
                # A single member: a short election timeout makes it leader in ~0.2 s.
                "--heartbeat-interval=10",
                "--election-timeout=100",
                "--log-level=warn",
            ]
            return argv, client

        def healthy(client: str) -> bool:
            status, raw = _http("GET", client + "/health", timeout=2)
            return status == 200 and bool(json.loads(raw).get("health") == "true")

        return self._start_with_port_retry("etcd", make_argv, healthy, deadline)

    def _admin_ssl(self) -> ssl.SSLContext:
        if self._ssl is None:
            ctx = ssl.create_default_context(cafile=str(self.ca_file))
            ctx.load_cert_chain(str(self._pki("admin.crt")), str(self._pki("admin.key")))
            self._ssl = ctx
        return self._ssl

    def _start_apiserver(self, etcd_url: str, deadline: float) -> None:
        pki = self.work_dir / "pki"

        def make_argv() -> tuple[list[str], str]:
            server = f"https://127.0.0.1:{_free_port()}"
            argv = [
                str(self.bin_dir / "kube-apiserver"),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                # Endpoints may not hold loopback addresses: no "kubernetes" endpoints.
                "--endpoint-reconciler-type=none",
                f"--secure-port={server.rsplit(':', 1)[1]}",
                f"--cert-dir={self.work_dir / 'apiserver-certs'}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                "--authorization-mode=RBAC",
                "--anonymous-auth=false",
                f"--service-account-issuer={_SA_ISSUER}",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--allow-privileged=true",
                "--profiling=false",
                "--v=1",
                *self._apiserver_args,
            ]
            return argv, server

        def ready(server: str) -> bool:
            self._server = server
            # 500 while the post-start hooks run
            status, _ = _http("GET", server + "/readyz", context=self._admin_ssl())
            return status == 200

        self._start_with_port_retry("kube-apiserver", make_argv, ready, deadline)

    def _start_controller_manager(self, deadline: float) -> None:
        pki = self.work_dir / "pki"
        self._openssl(
            "req",
            "-x509",
            "-config",
            "openssl.cnf",
            "-days",
            "7",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-extensions",
            "client",
            "-subj",
            "/O=system:masters/CN=system:kube-controller-manager",
            "-keyout",
            "kcm.key",
            "-out",
            "kcm.crt",
        )
        kubeconfig = self.work_dir / "controller-manager.kubeconfig"
        self._write_kubeconfig(
            kubeconfig,
            {
                "client-certificate-data": _b64(pki / "kcm.crt"),
                "client-key-data": _b64(pki / "kcm.key"),
            },
            user="system:kube-controller-manager",
        )

        def make_argv() -> tuple[list[str], int]:
            port = _free_port()
            argv = [
                str(self.bin_dir / "kube-controller-manager"),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--authentication-skip-lookup=true",
                "--bind-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={self.work_dir / 'controller-manager-certs'}",
                "--leader-elect=false",
                "--controllers=*",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                f"--root-ca-file={pki / 'ca.crt'}",
                f"--cluster-signing-cert-file={pki / 'ca.crt'}",
                f"--cluster-signing-key-file={pki / 'ca.key'}",
                "--profiling=false",
                "--v=1",
                *self._kcm_args,
            ]
            return argv, port

        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE  # its self-signed serving cert

        def healthy(port: int) -> bool:
            status, _ = _http("GET", f"https://127.0.0.1:{port}/healthz", context=insecure)
            return status == 200

        self._start_with_port_retry("kube-controller-manager", make_argv, healthy, deadline)
