"""The bench's listener process: synthetic source → Listener (detection) → StreamWriter.

``python -m telesniff.bench.listener`` reads the same ``TELESNIFF_*`` settings as every
process and takes commands as JSON lines on stdin, answering on stdout:

- ``{"cmd": "run", "group", "rate", "count", "duration", "chat_base", "max_backlog"}``
  feeds one counted run through the real listener pipeline and answers
  ``{"event": "done", "first_at", "appended_at", "sent", "appended"}`` once every entry
  is in the stream.  With ``max_backlog`` the source pauses while the consumer group has
  more than that many entries unread or unacknowledged (sustained maximum load that
  never outruns the stream's trimming).
- ``{"cmd": "quit"}`` (or end of input) exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from typing import Any

import orjson
import redis.asyncio as aioredis

from telesniff import broker, runtime
from telesniff.bench.procs import next_command
from telesniff.bench.synthetic import SyntheticSource, make_texts
from telesniff.detect import Detector
from telesniff.groupspec import GroupSpec
from telesniff.listener.pipeline import Listener
from telesniff.listener.writer import StreamWriter
from telesniff.settings import Settings, load_settings

log = logging.getLogger(__name__)
_SPEC = GroupSpec(chats=["@bench"], keywords=["stealth launch", "presale"])
_CHATS_PER_RUN = 8
_GATE_POLL_S = 0.02


def emit(message: dict[str, Any]) -> None:
    sys.stdout.buffer.write(orjson.dumps(message) + b"\n")
    sys.stdout.buffer.flush()


async def backlog(client: aioredis.Redis, stream: str, group: str) -> int:
    """Entries of the stream the consumer group has not yet acknowledged."""
    for info in await client.xinfo_groups(stream):
        name = info.get("name")
        if name in (group, group.encode()):
            lag = info.get("lag")
            return int(info.get("pending") or 0) + (int(lag) if lag is not None else 0)
    return 0


async def _hold_gate(
    client: aioredis.Redis, settings: Settings, limit: int, gate: asyncio.Event
) -> None:
    while True:
        behind = await backlog(client, settings.stream, settings.consumer_group)
        if behind < limit:
            gate.set()
        elif behind >= limit:
            gate.clear()
        await asyncio.sleep(_GATE_POLL_S)


async def _unless_failed(writing: asyncio.Task[None], work: asyncio.Future[None]) -> None:
    """Wait for ``work``; raise the writer's error if the writer stops first."""
    done, _ = await asyncio.wait({work, writing}, return_when=asyncio.FIRST_COMPLETED)
    if work not in done:
        writing.result()
        raise RuntimeError("the stream writer stopped")
    work.result()


async def _stop_writer(writer: StreamWriter, writing: asyncio.Task[None]) -> None:
    """Cancel the writer once it is idle, so a run's last entries are in the stream (and
    a writer that cannot reach Redis is not waited for longer than ten seconds)."""
    if not writing.done():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                _unless_failed(writing, asyncio.ensure_future(writer.drain())), 10
            )
    writing.cancel()
    await asyncio.wait({writing}, timeout=5)


async def run_once(
    client: aioredis.Redis, settings: Settings, detector: Detector, texts: list[str],
    command: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    group = str(command["group"])
    writer = StreamWriter.for_group(client, settings, group)
    chat_base = int(command["chat_base"])
    gate: asyncio.Event | None = None
    holding: asyncio.Task[None] | None = None
    if command.get("max_backlog"):
        await broker.ensure_group(client, settings.stream, settings.consumer_group)
        gate = asyncio.Event()
        holding = asyncio.create_task(
            _hold_gate(client, settings, int(command["max_backlog"]), gate)
        )
    source = SyntheticSource(
        texts,
        chat_ids=[chat_base - n for n in range(_CHATS_PER_RUN)],
        rate=float(command.get("rate") or 0),
        count=command.get("count"),
        duration=command.get("duration"),
        gate=gate,
    )
    writing = asyncio.create_task(writer.run())
    feeding = asyncio.create_task(source.run(Listener(group, detector, writer)))
    try:
        # The writer runs until cancelled: if it ends first, it failed, and says why.
        await _unless_failed(writing, feeding)
        await _unless_failed(writing, asyncio.ensure_future(writer.drain()))
    finally:
        for task in (feeding, holding):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await _stop_writer(writer, writing)
    return {
        "event": "done",
        "group": group,
        "first_at": source.first_at,
        "appended_at": time.time(),
        "sent": source.sent,
        "appended": writer.appended,
    }


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    assert settings.redis_url is not None
    client = broker.connect(settings.redis_url, name="bench-listener")
    detector = Detector.from_spec(_SPEC)
    texts = make_texts(4096)
    reader = asyncio.StreamReader(limit=1 << 20)
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await client.ping()
    emit({"event": "ready"})
    try:
        while (command := await next_command(reader, stop)) is not None:
            running = asyncio.create_task(run_once(client, settings, detector, texts, command))
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not running.done():  # stopped mid-run: the controller is going away
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
                return
            emit(running.result())
    finally:
        await client.aclose()


def main() -> None:
    settings = load_settings()
    runtime.setup_logging(settings.log_level)
    try:
        runtime.run(lambda stop: serve(settings, stop))
    except Exception as error:
        emit({"event": "error", "error": f"{type(error).__name__}: {error}"})
        raise


if __name__ == "__main__":
    main()
