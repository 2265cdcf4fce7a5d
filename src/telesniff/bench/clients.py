"""A process of WebSocket clients on the gateway's live feed, measuring.

``python -m telesniff.bench.clients URL COUNT`` opens COUNT connections, prints
``{"event": "ready"}`` once every one is open and greeted, then takes JSON-line commands:

- ``{"cmd": "expect", "group", "count", "latency"}``: start counting the detections of
  ``group`` per client; when every client has ``count`` of them it prints
  ``{"event": "delivered", "group", "at"}`` (``at``: epoch seconds of the last one).
  With ``latency`` every detection's ``now - received_at`` is recorded (seconds).
- ``{"cmd": "report", "path"}``: writes the recorded latencies (doubles, native order) to
  ``path`` and prints ``{"event": "report", "received_min", "received_max", "closed"}``.
- ``{"cmd": "quit"}`` (or end of input) exits.

Each client is a ``telesniff.bench.wsclient.FeedClient`` (websockets' handshake, frames
read in ``data_received``), so a frame costs no task wakeup; detections are counted in
each frame without parsing it (``"cursor":`` occurs once per item, JSON escapes it
anywhere else); frames are only parsed when latency is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sys
from array import array
from pathlib import Path
from typing import Any, Final

import orjson
from websockets.frames import CloseCode

from telesniff import runtime
from telesniff.bench.procs import next_command
from telesniff.bench.wsclient import FeedClient, HandshakeError, connect_feed

_DETECTIONS: Final = b'{"type":"detections"'
_ITEM: Final = b'"cursor":'
_GROUP: Final = b'"group":"'


def emit(message: dict[str, Any]) -> None:
    sys.stdout.buffer.write(orjson.dumps(message) + b"\n")
    sys.stdout.buffer.flush()


def frame_group(frame: bytes) -> bytes | None:
    """The group of a frame's first item (a frame holds one bench phase's detections)."""
    start = frame.find(_GROUP)
    if start < 0:
        return None
    start += len(_GROUP)
    end = frame.find(b'"', start)
    return frame[start:end] if end > 0 else None


class Tracker:
    """Counts per client for the group being measured, and the latencies if asked."""

    def __init__(self, clients: int) -> None:
        self.group: bytes | None = None
        self.expected = 0
        self.latency = False
        self.counts = [0] * clients
        self.behind = clients
        self.samples = array("d")
        self.closed = 0
        self.last_at = 0.0

    def expect(self, group: str, count: int, latency: bool) -> None:
        self.group = group.encode()
        self.expected = count
        self.latency = latency
        self.counts = [0] * len(self.counts)
        self.behind = len(self.counts) - self.closed
        self.samples = array("d")

    def lost(self, client: int, reason: str) -> None:
        """A connection ended; one still owed detections fails the phase at once.

        Waiting for its ``delivered`` would otherwise hang the bench for minutes.
        """
        self.closed += 1
        if self.group is not None and self.counts[client] < self.expected:
            emit({
                "event": "error",
                "error": f"client {client} was disconnected ({reason}) after "
                f"{self.counts[client]} of {self.expected} detections",
            })  # fmt: skip

    def on_frame(self, client: int, frame: bytes, now: float) -> None:
        if self.group is None or not frame.startswith(_DETECTIONS):
            return
        if frame_group(frame) != self.group:
            return
        if self.latency:
            # orjson.loads is as cheap as scanning the bytes for "received_at" (measured,
            # docs/bench.md) and right for any JSON.
            items = orjson.loads(frame)["items"]
            self.samples.extend([now - item["received_at"] for item in items])
            added = len(items)
        else:
            added = frame.count(_ITEM)
        before = self.counts[client]
        self.counts[client] = before + added
        if before < self.expected <= before + added:
            self.behind -= 1
            self.last_at = now
            if self.behind == 0:
                emit({"event": "delivered", "group": self.group.decode(), "at": now})


async def _client(
    index: int, url: str, tracker: Tracker, ready: asyncio.Queue[FeedClient | BaseException]
) -> None:
    client: FeedClient | None = None
    try:
        # No compression is offered: a deflate per client per frame would measure zlib.
        async with asyncio.timeout(30):
            client = await connect_feed(url, functools.partial(tracker.on_frame, index))
            hello = await asyncio.shield(client.greeting)
    except (OSError, TimeoutError, HandshakeError) as error:
        if client is not None:
            client.abort()
        await ready.put(error)
        return
    if not hello.startswith(b'{"type":"hello"'):
        client.abort()
        await ready.put(ValueError(f"expected a hello message, got {hello[:80]!r}"))
        return
    await ready.put(client)  # registered with the gateway's hub before it said hello
    await asyncio.shield(client.closed)
    close = client.close_received
    tracker.lost(index, f"close {close.code} {close.reason!r}" if close else "connection lost")


async def serve(url: str, count: int, stop: asyncio.Event) -> None:
    tracker = Tracker(count)
    ready: asyncio.Queue[FeedClient | BaseException] = asyncio.Queue()
    tasks = [asyncio.create_task(_client(n, url, tracker, ready)) for n in range(count)]
    clients: list[FeedClient] = []
    reader = asyncio.StreamReader(limit=1 << 20)
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        for _ in range(count):
            outcome = await ready.get()
            if isinstance(outcome, BaseException):
                emit({"event": "error", "error": f"cannot connect to {url}: {outcome!r}"})
                return
            clients.append(outcome)
        emit({"event": "ready", "clients": count})
        while (command := await next_command(reader, stop)) is not None:
            kind = command.get("cmd")
            if kind == "expect":
                tracker.expect(command["group"], int(command["count"]), bool(command["latency"]))
            elif kind == "report":
                await asyncio.to_thread(
                    Path(command["path"]).write_bytes, tracker.samples.tobytes()
                )
                emit({
                    "event": "report",
                    "received_min": min(tracker.counts),
                    "received_max": max(tracker.counts),
                    "closed": tracker.closed,
                })  # fmt: skip
    finally:
        for task in tasks:
            task.cancel()  # first, so that our own closing is not counted as the gateway's
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for client in clients:
            client.close(CloseCode.GOING_AWAY)
        if clients:  # the gateway answers the close and ends TCP; do not wait long for it
            await asyncio.wait([client.closed for client in clients], timeout=2)
        for client in clients:
            client.abort()


def main() -> None:
    url, count = sys.argv[1], int(sys.argv[2])
    runtime.run(lambda stop: serve(url, count, stop))


if __name__ == "__main__":
    main()
