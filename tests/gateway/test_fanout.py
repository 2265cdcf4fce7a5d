"""The raw fan-out: shared frame bytes written straight to each client's socket."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from telesniff.contract import Entry, to_view
from telesniff.gateway import ws as ws_route
from telesniff.gateway.hub import Client, Hub
from telesniff.gateway.rawsend import RawSendProtocol

from .harness import GatewayFactory, RunningGateway
from .kit import EVM_A, batch_payload, entry, produce, publish, read_until, xadd


def view(stream_id: str, item: Entry) -> dict[str, Any]:
    parsed: dict[str, Any] = orjson.loads(orjson.dumps(to_view(item, stream_id)))
    return parsed


def hub_of(gw: RunningGateway) -> Hub:
    hub: Hub = gw.app.state.gateway.runtime.hub
    return hub


def clients_of(hub: Hub) -> list[Client]:
    return [client for members in hub.by_rule.values() for client in members]


async def read_raw_until(ws: ClientConnection, marker: str) -> list[str]:
    """Every message as received (text), up to and including the one holding ``marker``."""
    messages: list[str] = []
    async with asyncio.timeout(20):
        while True:
            message = await ws.recv()
            assert isinstance(message, str)
            messages.append(message)
            if marker in message:
                return messages


async def test_every_client_gets_the_same_frames_at_every_length(
    start_gateway: GatewayFactory,
) -> None:
    """30 clients on two filters; frames with 16-bit and 64-bit lengths decode everywhere."""
    async with start_gateway() as gw:
        hub, stream, channel = hub_of(gw), gw.settings.stream, gw.settings.live_channel
        tally = gw.app.state.gateway.metrics.sent
        everyone = [await connect(gw.ws_url(), max_size=None) for _ in range(20)]
        betas = [await connect(gw.ws_url(group="beta"), max_size=None) for _ in range(10)]
        for ws in everyone + betas:
            assert orjson.loads(await ws.recv())["type"] == "hello"
        detections_before = tally.detections

        batches = [
            [entry(text="short")],  # 126..65,535 bytes: 16-bit length
            [entry(group="beta", text="é" * 40_000)],  # ≥ 65,536 bytes: 64-bit length
            [entry(group="beta", text=f"many {n}", matches=[("evm", EVM_A)]) for n in range(400)],
            [entry(text="alpha only"), entry(group="beta", text="marker")],
        ]
        sent: list[tuple[str, Entry]] = []
        for batch in batches:
            ids = await produce(gw.redis, stream, channel, batch)
            sent += zip(ids, batch, strict=True)
        marker = sent[-1][0]

        seen_everyone = [await read_raw_until(ws, marker) for ws in everyone]
        seen_betas = [await read_raw_until(ws, marker) for ws in betas]
        # The hub wrote them itself: every client is on the raw path.
        assert all(client.write is not None for client in clients_of(hub))

        assert all(messages == seen_everyone[0] for messages in seen_everyone)
        assert all(messages == seen_betas[0] for messages in seen_betas)
        sizes = sorted(len(message.encode()) for message in seen_everyone[0])
        assert sizes[0] < 65_536 <= sizes[-1]

        def items(messages: list[str]) -> list[dict[str, Any]]:
            return [item for message in messages for item in orjson.loads(message)["items"]]

        assert items(seen_everyone[0]) == [view(sid, item) for sid, item in sent]
        assert items(seen_betas[0]) == [view(sid, e) for sid, e in sent if e.group == "beta"]
        expected = 20 * len(sent) + 10 * sum(e.group == "beta" for _, e in sent)
        assert tally.detections - detections_before == expected
        for ws in everyone + betas:
            await ws.close()


async def test_a_resumed_raw_client_skips_live_items_the_replay_covered(
    start_gateway: GatewayFactory,
) -> None:
    async with start_gateway() as gw:
        hub, stream, channel = hub_of(gw), gw.settings.stream, gw.settings.live_channel
        history = [entry(text=f"h{n}") for n in range(6)]
        ids = await xadd(gw.redis, stream, history)  # stored, not yet published
        async with connect(gw.ws_url(cursor=ids[1])) as ws:
            replayed = await read_until(
                ws, lambda r: any(c["type"] == "caught_up" for c in r.controls)
            )
            assert replayed.cursors == ids[2:]
            [client] = clients_of(hub)
            assert client.write is not None
            assert client.after is not None

            # The consumer publishes late: a batch wholly covered by the replay, one that
            # overlaps it, then a fresh one.
            pairs = list(zip(ids, history, strict=True))
            await publish(gw.redis, channel, pairs[:4])
            fresh = [entry(text="fresh1"), entry(text="fresh2")]
            fresh_ids = await xadd(gw.redis, stream, fresh)
            await publish(gw.redis, channel, [*pairs[4:], (fresh_ids[0], fresh[0])])
            await publish(gw.redis, channel, [(fresh_ids[1], fresh[1])])
            live = await read_until(ws, lambda r: fresh_ids[1] in r.cursors)
        assert [frame_["items"][0]["cursor"] for frame_ in live.frames] == fresh_ids
        assert live.items == [view(sid, e) for sid, e in zip(fresh_ids, fresh, strict=True)]
        assert live.controls == []


async def test_batches_dispatched_together_leave_in_order_in_one_write(
    start_gateway: GatewayFactory,
) -> None:
    """Batches handled in one pass of the loop are staged, then written together per client."""
    async with start_gateway() as gw:
        hub = hub_of(gw)
        tally = gw.app.state.gateway.metrics.sent
        clients = [await connect(gw.ws_url()) for _ in range(5)]
        for ws in clients:
            assert orjson.loads(await ws.recv())["type"] == "hello"
        before = (tally.messages, tally.detections)
        batches = [[(f"{n + 1}-0", entry(text=f"b{n}"))] for n in range(3)]
        for pairs in batches:  # no await in between: what one read from Redis can hold
            hub.dispatch(batch_payload(pairs))
        assert all(len(client.pending) == 3 for client in clients_of(hub))
        for ws in clients:
            received = await read_until(ws, lambda r: "3-0" in r.cursors)
            assert received.cursors == ["1-0", "2-0", "3-0"]
            assert len(received.frames) == 3  # still one WebSocket message per batch
        assert (tally.messages - before[0], tally.detections - before[1]) == (15, 15)
        for ws in clients:
            await ws.close()


async def test_a_dropped_client_that_stopped_reading_is_aborted(
    start_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its close cannot get through a full buffer; after the close timeout it is aborted.

    Otherwise the unsent frames (up to ``client_buffer_bytes``) stay in the gateway until
    TCP gives up on the peer, many minutes later.
    """
    monkeypatch.setattr(ws_route, "CLOSE_TIMEOUT_S", 0.5)
    async with start_gateway(client_buffer_bytes=256 * 1024) as gw:
        hub = hub_of(gw)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", gw.port))
        # A client that reads its greeting and then nothing more (its queue holds one).
        stalled = await connect(gw.ws_url(), sock=sock, max_queue=1)
        assert orjson.loads(await stalled.recv())["type"] == "hello"
        (client,) = clients_of(hub)
        assert client.write is not None
        protocol = getattr(client.write, "__self__", None)  # the bound method's protocol
        assert isinstance(protocol, RawSendProtocol)
        pad = "x" * 4000
        for round_ in range(2000):
            await produce(gw.redis, gw.settings.stream, gw.settings.live_channel,
                          [entry(text=f"{round_}.{n} {pad}") for n in range(10)])  # fmt: skip
            if hub.dropped["slow"]:
                break
        assert hub.dropped["slow"] == 1
        gauge = gw.app.state.gateway.metrics.ws_clients
        async with asyncio.timeout(10):  # its handler ends once the close is given up on
            while gauge._value.get() > 0:  # noqa: ASYNC110 - a Prometheus gauge has no event
                await asyncio.sleep(0.02)
        assert protocol.transport.is_closing()
        assert protocol.transport.get_write_buffer_size() == 0  # dropped, not kept to flush
        stalled.transport.abort()


async def test_one_large_flush_does_not_drop_a_client_that_keeps_reading(
    start_gateway: GatewayFactory,
) -> None:
    """A backlog caught up in one pass is one write far above the limit: what counts is
    what the client had still not taken from earlier writes, which here is nothing."""
    async with start_gateway(client_buffer_bytes=64 * 1024) as gw:
        hub = hub_of(gw)
        async with connect(gw.ws_url(), max_size=None) as client:
            assert orjson.loads(await client.recv())["type"] == "hello"
            big = [entry(text=f"{n} " + "x" * 4000) for n in range(2000)]  # one 8 MB batch
            await produce(gw.redis, gw.settings.stream, gw.settings.live_channel, big)
            received = await read_until(client, lambda got: len(got.items) >= 2000, 30)
        assert len(received.items) == 2000
        assert hub.dropped["slow"] == 0
