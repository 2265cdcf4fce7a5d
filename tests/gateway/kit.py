"""Helpers for the gateway tests: entries, the consumer's publish, WebSocket reading."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close

from telesniff.contract import FIELD, Entry, MatchKind, encode
from telesniff.db.store import Stored
from tests.factories import detection

SOL_A = "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr"
SOL_B = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
SOL_C = "EKpQGSJtjMFqKZ9KQanSqYXRcF8fBopzLHYxdM65zcjm"
EVM_A = "0x6982508145454Ce325dDbE47a25d4ec3d2311933"

_message_ids = itertools.count(1000)


def entry(
    *,
    group: str = "alpha",
    chat_id: int = 1,
    chat: str | None = "Alpha Calls",
    message_id: int | None = None,
    sender_id: int | None = 11,
    sender: str | None = "alice",
    text: str = "gm",
    matches: Sequence[tuple[MatchKind, str]] = (("solana", SOL_A),),
    date: float | None = None,
    edit: bool = False,
) -> Entry:
    return detection(
        group=group,
        chat_id=chat_id,
        chat=chat,
        message_id=next(_message_ids) if message_id is None else message_id,
        sender_id=sender_id,
        sender=sender,
        text=text,
        matches=matches,
        date=date,
        edit=edit,
    )


def batch_payload(pairs: Sequence[tuple[str, Entry]]) -> bytes:
    """What the consumer publishes: ``[[stream_id, entry], ...]`` by byte concatenation."""
    return (
        b"["
        + b",".join(b'["' + sid.encode() + b'",' + encode(item) + b"]" for sid, item in pairs)
        + b"]"
    )


async def xadd(redis: Redis, stream: str, entries: Sequence[Entry]) -> list[str]:
    async with redis.pipeline(transaction=False) as pipe:
        for item in entries:
            pipe.xadd(stream, {FIELD: encode(item)})
        ids = await pipe.execute()
    return [sid.decode() for sid in ids]


async def publish(redis: Redis, channel: str, pairs: Sequence[tuple[str, Entry]]) -> None:
    receivers = await redis.publish(channel, batch_payload(pairs))
    assert receivers >= 1, "no gateway subscribed to the live channel"


async def produce(redis: Redis, stream: str, channel: str, entries: Sequence[Entry]) -> list[str]:
    """Listener + consumer in one step: XADD, then publish the batch."""
    ids = await xadd(redis, stream, entries)
    await publish(redis, channel, list(zip(ids, entries, strict=True)))
    return ids


def stored(ids: Sequence[str], entries: Sequence[Entry]) -> list[Stored]:
    return [Stored(sid, item) for sid, item in zip(ids, entries, strict=True)]


async def next_message(ws: ClientConnection, seconds: float = 5.0) -> dict[str, Any]:
    raw = await asyncio.wait_for(ws.recv(), seconds)
    message = orjson.loads(raw)
    assert isinstance(message, dict)
    return message


@dataclass
class Received:
    frames: list[dict[str, Any]]
    controls: list[dict[str, Any]]

    @property
    def items(self) -> list[dict[str, Any]]:
        return [item for frame in self.frames for item in frame["items"]]

    @property
    def cursors(self) -> list[str]:
        return [item["cursor"] for item in self.items]


async def read_until(
    ws: ClientConnection,
    done: Callable[[Received], bool],
    seconds: float = 10.0,
) -> Received:
    """Read messages until ``done`` holds (or fail after ``seconds``)."""
    received = Received([], [])
    async with asyncio.timeout(seconds):
        while not done(received):
            message = await next_message(ws, seconds)
            if message["type"] == "detections":
                received.frames.append(message)
            else:
                received.controls.append(message)
    return received


async def closed_by_server(ws: ClientConnection, seconds: float = 15.0) -> Close:
    """Read (and discard) until the server closes the connection; returns its close frame."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                await ws.recv()
    except ConnectionClosed as closed:
        frame = closed.rcvd
    if frame is None:
        raise AssertionError("closed without a close frame from the server")
    return frame
