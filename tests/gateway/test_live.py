"""The live feed over real WebSockets: fan-out with filters, slow clients, resume, gaps."""

from __future__ import annotations

import asyncio
import functools
import socket
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from telesniff.contract import FIELD, Entry, encode, to_view
from telesniff.gateway.filters import OPEN

from .harness import GatewayFactory, RunningGateway
from .kit import (
    EVM_A,
    SOL_A,
    SOL_B,
    Received,
    closed_by_server,
    entry,
    produce,
    publish,
    read_until,
    xadd,
)


@pytest.fixture(params=["raw", "asgi"])
def start(
    request: pytest.FixtureRequest,
    redis_url: str,
    start_gateway_on: Callable[[str], GatewayFactory],
) -> GatewayFactory:
    """Live-feed tests run on Debian's redis-server and on the embedded Valkey, each with
    the raw fan-out (the gateway's protocol) and with plain uvicorn (the ASGI send path)."""
    factory = start_gateway_on(redis_url)
    if request.param == "raw":
        return factory
    return functools.partial(factory, ws="websockets-sansio")


def saw(cursor: str) -> Callable[[Received], bool]:
    return lambda received: cursor in received.cursors


def view(stream_id: str, item: Entry) -> dict[str, Any]:
    parsed: dict[str, Any] = orjson.loads(orjson.dumps(to_view(item, stream_id)))
    return parsed


FILTERS: dict[str, tuple[dict[str, str], Callable[[Entry], bool]]] = {
    "all": ({}, lambda e: True),
    "beta": ({"group": "beta"}, lambda e: e.group == "beta"),
    "evm": ({"kind": "evm"}, lambda e: any(m.kind == "evm" for m in e.matches)),
    "alice": ({"sender": "@ALICE"}, lambda e: (e.sender or "").lower() == "alice"),
    "sender12": ({"sender": "12"}, lambda e: e.sender_id == 12),
    "chat2": ({"chat": "2"}, lambda e: e.chat_id == 2),
    "pump": ({"q": "PuMp"}, lambda e: "pump" in e.text.lower()),
    "alpha-sol": (
        {"group": "alpha", "kind": "solana"},
        lambda e: e.group == "alpha" and any(m.kind == "solana" for m in e.matches),
    ),
}


async def test_fan_out_applies_each_connection_filter(start: GatewayFactory) -> None:
    batches = [
        [
            entry(group="alpha", chat_id=1, sender_id=11, sender="alice", text="pump it",
                  matches=[("solana", SOL_A)]),
            entry(group="beta", chat_id=2, sender_id=12, sender="bob", text="evm here",
                  matches=[("evm", EVM_A)]),
        ],
        [entry(group="beta", chat_id=3, sender_id=13, sender=None, text="quiet",
               matches=[("url", "https://pump.fun/coin/x")])],
        [
            entry(group="alpha", chat_id=2, sender_id=12, sender="Alice", text="both PUMP",
                  matches=[("solana", SOL_B), ("evm", EVM_A)]),
            entry(group="gamma", chat_id=4, sender_id=None, sender=None, text="nothing",
                  matches=[("keyword", "moon")]),
        ],
        # Markers: between them, every filter admits at least one.
        [
            entry(group="beta", chat_id=2, sender_id=12, sender="alice", text="PUMP marker",
                  matches=[("evm", EVM_A)]),
            entry(group="alpha", chat_id=9, sender_id=99, sender="zed", text="marker",
                  matches=[("solana", SOL_A)]),
        ],
    ]  # fmt: skip
    async with start() as gw:
        clients: dict[str, ClientConnection] = {}
        for name, (params, _) in FILTERS.items():
            clients[name] = await connect(gw.ws_url(**params))
            hello = orjson.loads(await clients[name].recv())
            assert hello == {"type": "hello", "cursor": None}
        sent: list[list[tuple[str, Entry]]] = []
        for batch in batches:
            ids = await produce(gw.redis, gw.settings.stream, gw.settings.live_channel, batch)
            sent.append(list(zip(ids, batch, strict=True)))
        markers = [sid for sid, _ in sent[-1]]
        for name, (_, admits) in FILTERS.items():
            received = await read_until(
                clients[name], lambda r: any(c in r.cursors for c in markers)
            )
            expected = [view(sid, item) for batch in sent for sid, item in batch if admits(item)]
            assert received.items == expected, name
            assert all(frame["items"] for frame in received.frames), name
            assert len(received.frames) <= sum(
                any(admits(item) for _, item in batch) for batch in sent
            ), name
            assert received.controls == []
        for ws in clients.values():
            await ws.close()


async def test_a_client_that_keeps_up_gets_one_message_per_batch(start: GatewayFactory) -> None:
    async with start() as gw, connect(gw.ws_url()) as ws:
        await ws.recv()
        for size in (1, 3, 2):
            batch = [entry(text=f"n{n}") for n in range(size)]
            ids = await produce(gw.redis, gw.settings.stream, gw.settings.live_channel, batch)
            message = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
            assert message == {
                "type": "detections",
                "items": [view(sid, item) for sid, item in zip(ids, batch, strict=True)],
            }


async def test_resume_replays_after_cursor_then_live_without_duplicates(
    start: GatewayFactory,
) -> None:
    async with start() as gw:
        stream, channel = gw.settings.stream, gw.settings.live_channel
        history = [entry(text=f"h{n}") for n in range(10)]
        ids = await xadd(gw.redis, stream, history)  # stored, not yet published
        async with connect(gw.ws_url(cursor=ids[3])) as ws:
            replayed = await read_until(
                ws, lambda r: any(c["type"] == "caught_up" for c in r.controls)
            )
            assert replayed.controls == [
                {"type": "hello", "cursor": ids[9]},
                {"type": "caught_up", "cursor": ids[9]},
            ]
            assert replayed.items == [
                view(sid, e) for sid, e in zip(ids[4:], history[4:], strict=True)
            ]

            # The consumer publishes late, overlapping what the replay already sent.
            fresh = entry(text="fresh")
            [fresh_id] = await xadd(gw.redis, stream, [fresh])
            await publish(
                gw.redis, channel, [*zip(ids[7:], history[7:], strict=True), (fresh_id, fresh)]
            )
            later = [entry(text="later1"), entry(text="later2")]
            later_ids = await produce(gw.redis, stream, channel, later)
            live = await read_until(ws, saw(later_ids[-1]))
            assert live.cursors == [fresh_id, *later_ids]
            assert live.controls == []


async def test_reconnect_misses_nothing_and_repeats_nothing(start: GatewayFactory) -> None:
    async with start() as gw:
        stream, channel = gw.settings.stream, gw.settings.live_channel
        groups = ["alpha", "beta", "beta"]

        def batch(tag: str) -> list[Entry]:
            return [entry(group=g, text=f"{tag}{n}") for n, g in enumerate(groups)]

        first = batch("a")
        async with connect(gw.ws_url(group="beta")) as ws:
            hello = orjson.loads(await ws.recv())
            first_ids = await produce(gw.redis, stream, channel, first)
            got_first = await read_until(ws, saw(first_ids[-1]))
        assert got_first.cursors == first_ids[1:]
        last_seen = max(
            [hello["cursor"] or "0-0", *got_first.cursors],
            key=lambda c: tuple(map(int, c.split("-"))),
        )

        missed = batch("b")
        missed_ids = await produce(gw.redis, stream, channel, missed)  # nobody listening for beta

        async with connect(gw.ws_url(group="beta", cursor=last_seen)) as ws:
            resumed = await read_until(
                ws, lambda r: any(c["type"] == "caught_up" for c in r.controls)
            )
            assert resumed.cursors == missed_ids[1:]
            after = batch("c")
            after_ids = await produce(gw.redis, stream, channel, after)
            live = await read_until(ws, saw(after_ids[-1]))
            assert live.cursors == after_ids[1:]
        everything = got_first.cursors + resumed.cursors + live.cursors
        assert len(everything) == len(set(everything)) == 6


async def test_resume_while_the_feed_keeps_flowing(start: GatewayFactory) -> None:
    """A client resumes while the consumer publishes: exactly every id after the cursor, once."""
    async with start() as gw:
        stream, channel = gw.settings.stream, gw.settings.live_channel
        start_ids = await produce(gw.redis, stream, channel, [entry(text="before")])
        produced: list[str] = []
        halfway = asyncio.Event()

        async def producer() -> None:
            for round_ in range(60):
                produced.extend(
                    await produce(
                        gw.redis, stream, channel, [entry(text=f"r{round_}.{n}") for n in range(5)]
                    )
                )
                if round_ == 10:
                    halfway.set()
                await asyncio.sleep(0)

        task = asyncio.create_task(producer())
        await halfway.wait()
        async with connect(gw.ws_url(cursor=start_ids[0])) as ws:
            await task
            received = await read_until(ws, saw(produced[-1]))
        assert received.cursors == produced
        assert [c["type"] for c in received.controls] == ["hello", "caught_up"]


async def test_gap_notice_when_the_cursor_was_trimmed(start: GatewayFactory) -> None:
    async with start() as gw:
        stream = gw.settings.stream
        entries = [entry(text=f"t{n}") for n in range(30)]
        ids = await xadd(gw.redis, stream, entries)
        assert await gw.redis.xtrim(stream, maxlen=10, approximate=False) == 20

        async with connect(gw.ws_url(cursor=ids[0])) as ws:
            received = await read_until(
                ws, lambda r: any(c["type"] == "caught_up" for c in r.controls)
            )
        assert [c["type"] for c in received.controls] == ["hello", "gap", "caught_up"]
        assert received.controls[1] == {"type": "gap", "oldest": ids[20]}
        assert received.cursors == ids[20:]

        # A cursor at the oldest retained entry lost nothing: no gap.
        async with connect(gw.ws_url(cursor=ids[20])) as ws:
            received = await read_until(
                ws, lambda r: any(c["type"] == "caught_up" for c in r.controls)
            )
        assert [c["type"] for c in received.controls] == ["hello", "caught_up"]
        assert received.cursors == ids[21:]


async def test_replay_skips_undecodable_entries(start: GatewayFactory) -> None:
    async with start() as gw:
        stream = gw.settings.stream
        [before] = await xadd(gw.redis, stream, [entry(text="before")])
        good = entry(text="good")
        junk = [
            {FIELD: b"not json"},
            {FIELD: orjson.dumps({**to_view(good, "x"), "v": 99})},
            {b"other": b"field"},
            {FIELD: b'{"v": 1, "group": "alpha"}'},
        ]
        for fields in junk:
            await gw.redis.xadd(stream, fields)  # type: ignore[arg-type]
        [good_id] = await xadd(gw.redis, stream, [good])
        async with connect(gw.ws_url(cursor=before)) as ws:
            received = await read_until(
                ws, lambda r: any(c["type"] == "caught_up" for c in r.controls)
            )
        assert received.items == [view(good_id, good)]


async def test_bad_live_payloads_are_skipped(start: GatewayFactory) -> None:
    async with start() as gw:
        good = entry(text="good")
        async with connect(gw.ws_url()) as ws:
            await ws.recv()
            await gw.redis.publish(gw.settings.live_channel, b"not json")
            await gw.redis.publish(gw.settings.live_channel, b'{"not": "a list"}')
            payload = b'[["1-0", {"v": 7}], ["bad id", {"v": 1}], ["2-0",' + encode(good) + b"]]"
            await gw.redis.publish(gw.settings.live_channel, payload)
            received = await read_until(ws, saw("2-0"))
        assert received.items == [view("2-0", good)]
        async with httpx.AsyncClient(base_url=gw.base_url) as client:
            metrics = (await client.get("/metrics")).text
        assert "telesniff_gateway_live_entries_skipped_total 4.0" in metrics


async def test_hello_reports_the_newest_id(start: GatewayFactory) -> None:
    async with start() as gw:
        async with connect(gw.ws_url()) as ws:
            assert orjson.loads(await ws.recv()) == {"type": "hello", "cursor": None}
        ids = await xadd(gw.redis, gw.settings.stream, [entry(), entry()])
        async with connect(gw.ws_url()) as ws:
            assert orjson.loads(await ws.recv()) == {"type": "hello", "cursor": ids[-1]}


@pytest.mark.parametrize(
    ("params", "needle"),
    [({"cursor": "yesterday"}, "cursor"), ({"kind": "btc"}, "kind"), ({"chat": "x"}, "chat")],
)
async def test_bad_ws_parameters_rejected(
    start_gateway: GatewayFactory, params: dict[str, str], needle: str
) -> None:
    async with start_gateway() as gw:
        with pytest.raises(InvalidStatus) as rejected:
            await connect(gw.ws_url(**params))
        assert rejected.value.response.status_code == 400
        assert needle in orjson.loads(rejected.value.response.body)["detail"]


async def slow_connection(gw: RunningGateway) -> ClientConnection:
    """A client that stops reading: tiny receive buffer, at most one message buffered."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", gw.port))
    return await connect(gw.ws_url(), sock=sock, max_queue=1)


@pytest.mark.parametrize(
    "limits",
    [
        # Raw path: the bytes the socket has not taken are bounded (the queue is unused).
        {"client_buffer_bytes": 64 * 1024, "client_queue": 100_000},
        # ASGI path (plain uvicorn): the queue of batches is bounded.
        {"ws": "websockets-sansio", "client_queue": 4},
    ],
    ids=["raw-bytes", "asgi-queue"],
)
async def test_slow_client_is_dropped_and_never_delays_the_others(
    start_gateway: GatewayFactory, limits: dict[str, Any]
) -> None:
    async with start_gateway(**limits) as gw:
        stream, channel = gw.settings.stream, gw.settings.live_channel
        hub = gw.app.state.gateway.runtime.hub
        fast = await connect(gw.ws_url())
        assert orjson.loads(await fast.recv())["type"] == "hello"
        slow = await slow_connection(gw)
        assert orjson.loads(await slow.recv())["type"] == "hello"
        assert hub.count == 2
        # The switch to raw writes follows the hello with no await in between.
        raw = "ws" not in limits
        assert all((client.write is not None) == raw for client in hub.by_rule[OPEN])
        produced: list[str] = []
        received: list[str] = []
        done = asyncio.Event()

        async def read_fast() -> None:
            while True:
                message = orjson.loads(await fast.recv())
                received.extend(item["cursor"] for item in message["items"])
                if done.is_set() and received and received[-1] == produced[-1]:
                    return

        reader = asyncio.create_task(read_fast())
        padding = "x" * 4000
        for round_ in range(2000):
            batch = [entry(text=f"{round_}.{n} {padding}") for n in range(10)]
            produced += await produce(gw.redis, stream, channel, batch)
            if hub.dropped["slow"]:
                break
        assert hub.dropped["slow"] == 1, "the slow client was never dropped"
        produced += await produce(gw.redis, stream, channel, [entry(text="after the drop")])
        done.set()
        await asyncio.wait_for(reader, 30)
        assert received == produced  # everything, once, in order

        assert hub.count == 1
        close = await closed_by_server(slow)
        assert (close.code, close.reason) == (1013, "too slow")
        async with httpx.AsyncClient(base_url=gw.base_url) as client:
            stats = (await client.get("/api/stats")).json()
            metrics = (await client.get("/metrics")).text
        assert stats["websocket"]["dropped"] == {"slow": 1}
        assert stats["websocket"]["clients"] == 1
        assert 'telesniff_gateway_clients_dropped_total{reason="slow"} 1.0' in metrics
        await fast.close()
