"""The processes of a bench run: one listener, N consumers, one gateway, the client processes."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from pathlib import Path
from typing import Any

from telesniff.bench.options import BenchOptions
from telesniff.bench.procs import Child, Children, tree_cpu_seconds

_PYTHON = sys.executable
_START_TIMEOUT_S = 90.0


async def http_status(port: int, path: str) -> int:
    """The status code of a plain GET on the loopback (0 when nothing answers)."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
    except (OSError, TimeoutError):
        return 0
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 5)
        parts = line.split()
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    except (OSError, TimeoutError):
        return 0
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


class Pipeline:
    def __init__(self, children: Children, options: BenchOptions, port: int) -> None:
        self.children = children
        self.options = options
        self.port = port
        self.listener: Child | None = None
        self.consumers: list[Child] = []
        self.gateway: Child | None = None
        self.clients: list[Child] = []
        self.servers: dict[str, int] = {}  # name → pid of the servers the run started
        self._retired: list[Child] = []

    # Starting and stopping.

    async def start_listener(self) -> None:
        self.listener = await self.children.start(
            "listener", [_PYTHON, "-m", "telesniff.bench.listener"], control=True
        )
        await self.listener.receive(_START_TIMEOUT_S)

    async def scale_consumers(self, count: int) -> None:
        while len(self.consumers) < count:
            name = f"consumer-{len(self.consumers) + 1}"
            self.consumers.append(
                await self.children.start(
                    name, [_PYTHON, "-m", "telesniff", "consumer", "--name", f"bench-{name}"]
                )
            )
        while len(self.consumers) > count:
            await self.retire(self.consumers.pop())
        self.check_alive()

    async def start_gateway(self) -> None:
        self.gateway = await self.children.start("gateway", [_PYTHON, "-m", "telesniff", "gateway"])
        deadline = time.monotonic() + _START_TIMEOUT_S
        while await http_status(self.port, "/readyz") != 200:
            if self.gateway.process.returncode is not None:
                raise self.gateway.failure("exited while starting")
            if time.monotonic() > deadline:
                raise self.gateway.failure(f"not ready within {_START_TIMEOUT_S:.0f}s")
            await asyncio.sleep(0.1)

    async def start_clients(self) -> None:
        url = f"ws://127.0.0.1:{self.port}/ws"
        for number, count in enumerate(self.options.client_split(), 1):
            self.clients.append(
                await self.children.start(
                    f"clients-{number}",
                    [_PYTHON, "-m", "telesniff.bench.clients", url, str(count)],
                    control=True,
                )
            )
        for child in self.clients:
            await child.receive(_START_TIMEOUT_S)

    async def stop_clients(self) -> None:
        clients, self.clients = self.clients, []
        for child in clients:
            await self.retire(child)

    async def retire(self, child: Child) -> None:
        child.sample()
        await self.children.stop(child)
        self._retired.append(child)

    def check_alive(self) -> None:
        for child in self._live():
            if child.process.returncode is not None:
                raise child.failure("exited")

    # Driving.

    async def run_listener(self, command: dict[str, Any], within: float) -> dict[str, Any]:
        assert self.listener is not None
        await self.listener.send({"cmd": "run", **command})
        return await self.listener.receive(within)

    async def expect(self, group: str, count: int, *, latency: bool) -> None:
        for child in self.clients:
            await child.send({"cmd": "expect", "group": group, "count": count, "latency": latency})

    async def delivered(self, within: float) -> float:
        """When the last client process saw its last client complete (epoch seconds)."""
        finished = [await child.receive(within) for child in self.clients]
        return max(float(message["at"]) for message in finished)

    async def reports(self, directory: Path) -> tuple[list[dict[str, Any]], list[Path]]:
        answers, paths = [], []
        for number, child in enumerate(self.clients, 1):
            path = directory / f"latency-{number}.bin"
            await child.send({"cmd": "report", "path": str(path)})
            answers.append(await child.receive(60))
            paths.append(path)
        return answers, paths

    # Measuring.

    def _live(self) -> list[Child]:
        roles = [self.listener, self.gateway, *self.consumers, *self.clients]
        return [child for child in roles if child is not None]

    def sample(self) -> None:
        for child in self._live():
            child.sample()

    async def watch(self) -> None:
        """Sample peak memory until cancelled (VmHWM is gone once a process has exited)."""
        while True:
            self.sample()
            await asyncio.sleep(0.25)

    def peak_rss(self) -> dict[str, float]:
        consumers = [c for c in self.consumers + self._retired if c.name.startswith("consumer")]
        found = {
            "listener": self.listener.peak_rss_mb if self.listener else None,
            "consumer": max((c.peak_rss_mb for c in consumers), default=None),
            "gateway": self.gateway.peak_rss_mb if self.gateway else None,
        }
        return {name: round(value, 1) for name, value in found.items() if value}

    def steady_rss(self) -> dict[str, float]:
        found = {
            "listener": self.listener.rss_mb() if self.listener else None,
            "consumer": max((c.rss_mb() for c in self.consumers), default=None),
            "gateway": self.gateway.rss_mb() if self.gateway else None,
        }
        return {name: round(value, 1) for name, value in found.items() if value}

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far: listener, consumers together, gateway, and the servers."""
        found = {
            "listener": self.listener.cpu_seconds() if self.listener else 0.0,
            "consumers": sum(child.cpu_seconds() for child in self.consumers),
            "gateway": self.gateway.cpu_seconds() if self.gateway else 0.0,
            "clients": sum(child.cpu_seconds() for child in self.clients),
        }
        for name, pid in self.servers.items():
            found[name] = tree_cpu_seconds(pid)
        return found
