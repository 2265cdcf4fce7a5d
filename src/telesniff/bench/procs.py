"""Child processes of a bench run: started, talked to (JSON lines), measured, always stopped.

Every child is in its own session (a Ctrl-C in the terminal reaches only the controller,
which then stops the children in order: upstream first) and asks the kernel for SIGTERM
should the controller die without cleaning up.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

_PR_SET_PDEATHSIG = 1
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def machine_load() -> dict[str, float]:
    """CPUs, the 1-minute load average, and CPU pressure (share of time tasks waited for a CPU)."""
    found: dict[str, float] = {"cpus": float(os.cpu_count() or 1)}
    with contextlib.suppress(OSError, ValueError, IndexError):
        found["load_1m"] = float(Path("/proc/loadavg").read_text().split()[0])
    with contextlib.suppress(OSError, ValueError, IndexError):
        some = Path("/proc/pressure/cpu").read_text().splitlines()[0].split()
        found["cpu_pressure_avg60"] = float(some[2].split("=")[1])
    return found


class ChildError(RuntimeError):
    """A child exited or did not answer; the message carries the end of its log."""


def _status_kb(pid: int, field: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a live process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a server and its direct children (PostgreSQL's backends)."""
    total = cpu_seconds(pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    return total


class Child:
    def __init__(self, name: str, process: asyncio.subprocess.Process, log: Path) -> None:
        self.name = name
        self.process = process
        self.log = log
        self.peak_rss_mb = 0.0  # VmHWM, read while alive (gone after exit)

    @property
    def pid(self) -> int:
        return self.process.pid

    def sample(self) -> None:
        """Record the peak RSS so far (the kernel's high-water mark)."""
        self.peak_rss_mb = max(self.peak_rss_mb, _status_kb(self.pid, "VmHWM") / 1024)

    def rss_mb(self) -> float:
        return _status_kb(self.pid, "VmRSS") / 1024

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def failure(self, what: str) -> ChildError:
        code = self.process.returncode
        status = f" (exit code {code})" if code is not None else ""
        return ChildError(f"{self.name}: {what}{status}; last lines of {self.log}:\n{self.tail()}")

    async def send(self, message: Mapping[str, Any]) -> None:
        if self.process.stdin is None or self.process.returncode is not None:
            raise self.failure("cannot send a command, not running")
        self.process.stdin.write(orjson.dumps(message) + b"\n")
        await self.process.stdin.drain()

    async def receive(self, within: float) -> dict[str, Any]:
        """The next JSON line the child prints on stdout."""
        if self.process.stdout is None:
            raise self.failure("has no control channel")
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), within)
        except TimeoutError:
            raise self.failure(f"no answer within {within:.0f}s") from None
        if not line:
            await self.process.wait()
            raise self.failure("exited")
        message = orjson.loads(line)
        if not isinstance(message, dict):
            raise self.failure(f"unexpected output {line[:200]!r}")
        if message.get("event") == "error":
            raise self.failure(str(message.get("error")))
        return message


async def next_command(reader: asyncio.StreamReader, stop: asyncio.Event) -> dict[str, Any] | None:
    """The next JSON command on a child's stdin; None at end of input or once ``stop`` is set."""
    reading = asyncio.ensure_future(reader.readline())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not reading.done():
        reading.cancel()
        return None
    line = reading.result()
    if not line:
        return None
    command = orjson.loads(line)
    if not isinstance(command, dict) or command.get("cmd") == "quit":
        return None
    return command


class Children:
    """Everything this run started, stopped in reverse order of start unless stopped earlier."""

    def __init__(self, logs: Path, env: Mapping[str, str]) -> None:
        self._logs = logs
        self._env = dict(env)
        self._running: list[Child] = []

    async def start(self, name: str, argv: Sequence[str], *, control: bool = False) -> Child:
        log = self._logs / f"{name}.log"
        with log.open("ab") as handle:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE if control else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE if control else handle,
                stderr=handle,
                env=self._env,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # the controller starts no threads
                limit=1 << 24,
            )
        child = Child(name, process, log)
        self._running.append(child)
        return child

    async def stop(self, child: Child, within: float = 15.0) -> None:
        """SIGTERM (a clean shutdown flushes), then SIGKILL after ``within``."""
        if child in self._running:
            self._running.remove(child)
        if child.process.returncode is None:
            child.sample()
            if child.process.stdin is not None:
                child.process.stdin.close()  # end of commands: a controlled child exits
            with contextlib.suppress(ProcessLookupError):
                child.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(child.process.wait(), within)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    child.process.kill()
                await child.process.wait()

    async def stop_all(self) -> None:
        for child in reversed(list(self._running)):
            await self.stop(child)

    def kill_all(self) -> None:
        """Last resort when the event loop is going away: SIGKILL by pid, no waiting."""
        for child in self._running:
            if child.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGKILL)
        self._running.clear()
