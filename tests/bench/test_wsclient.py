"""The bench's WebSocket client against real servers: the gateway under uvicorn, and websockets.

Frames of every length encoding (7-bit, 16-bit and 64-bit payload lengths), fragmented
messages, ping, the server's close, a refused handshake, and the client process's
command protocol (ready, expect, delivered, report, quit).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from array import array
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from telesniff.bench.wsclient import FeedClient, HandshakeError, connect_feed
from tests.gateway.harness import RunningGateway, gateway_factory
from tests.gateway.kit import entry, produce

LARGE_TEXT = "🚀 big call " + "x" * 70_000  # one item above 65,535 bytes: a 64-bit length


class Inbox:
    """Messages one client received; ``wait_for(n)`` returns once it has n of them."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self._wanted = 0
        self._enough = asyncio.Event()

    def __call__(self, message: bytes, now: float) -> None:
        self.messages.append(message)
        if len(self.messages) >= self._wanted:
            self._enough.set()

    async def wait_for(self, count: int) -> list[bytes]:
        self._wanted = count
        if len(self.messages) < count:
            self._enough.clear()
            async with asyncio.timeout(20):
                await self._enough.wait()
        return self.messages[:count]


@pytest.fixture
async def gateway(debian_redis_url: str, tmp_path: Path) -> AsyncIterator[RunningGateway]:
    async with gateway_factory(debian_redis_url, tmp_path)() as gw:
        yield gw


async def test_receives_every_frame_size_from_the_gateway_then_its_close(
    debian_redis_url: str, tmp_path: Path
) -> None:
    async with gateway_factory(debian_redis_url, tmp_path)() as gw:
        inboxes = [Inbox() for _ in range(2)]
        clients = [await connect_feed(gw.ws_url(), inbox) for inbox in inboxes]
        for client in clients:
            hello = orjson.loads(await asyncio.wait_for(asyncio.shield(client.greeting), 10))
            assert hello["type"] == "hello"
        batches = [
            [entry(text="gm")],  # one item: a payload of 126..65,535 bytes
            [entry(text=f"call {n}") for n in range(40)],  # still 16-bit
            [entry(text=LARGE_TEXT)],  # 64-bit
            [entry(text="after the large one")],
        ]
        produced: list[list[str]] = []
        for batch in batches:
            produced.append(
                await produce(gw.redis, gw.settings.stream, gw.settings.live_channel, batch)
            )
        for inbox in inboxes:
            frames = await inbox.wait_for(len(batches))
            got = [[item["cursor"] for item in orjson.loads(frame)["items"]] for frame in frames]
            assert got == produced
            sizes = [len(frame) for frame in frames]
            assert 126 <= sizes[0] < 65_536
            assert 126 <= sizes[1] < 65_536
            assert sizes[2] >= 65_536
            assert orjson.loads(frames[2])["items"][0]["text"] == LARGE_TEXT
    # Leaving the block shut the gateway down: uvicorn closes each WebSocket with 1012.
    for client in clients:
        await asyncio.wait_for(asyncio.shield(client.closed), 10)
        assert client.close_received is not None
        assert client.close_received.code == 1012
        assert client.close_sent  # echoed, as RFC 6455 §5.5.1 asks
        assert client.error is None


async def test_fragments_ping_and_close_from_a_websockets_server() -> None:
    pong_seen = asyncio.Event()
    echoed: list[int | None] = []

    async def handler(ws: ServerConnection) -> None:
        await ws.send("hello")
        await ws.send(["frag", "mented ", "message"])  # one message in three frames
        await asyncio.wait_for(await ws.ping(b"are you there"), 10)  # needs our pong
        pong_seen.set()
        await ws.send(b"\x00" * 70_000)  # binary, 64-bit length
        await ws.send("x" * 300)  # 16-bit length
        await ws.close(4001, "bye now")  # waits for our close frame
        echoed.append(ws.close_code)

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        inbox = Inbox()
        client = await connect_feed(f"ws://127.0.0.1:{port}/", inbox)
        assert await asyncio.wait_for(asyncio.shield(client.greeting), 10) == b"hello"
        messages = await inbox.wait_for(3)
        assert messages == [b"fragmented message", b"\x00" * 70_000, b"x" * 300]
        await asyncio.wait_for(asyncio.shield(client.closed), 10)
    assert pong_seen.is_set()
    assert client.close_received is not None
    assert (client.close_received.code, client.close_received.reason) == (4001, "bye now")
    assert echoed == [4001]  # the server got our close frame back
    assert client.error is None


async def test_a_wrong_accept_key_fails_the_handshake() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.wait_closed()

    def corrupt(ws: ServerConnection, request: Request, response: Response) -> Response:
        headers = Headers(response.headers)
        headers["Sec-WebSocket-Accept"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAA="
        return Response(response.status_code, response.reason_phrase, headers, response.body)

    async with serve(handler, "127.0.0.1", 0, process_response=corrupt) as server:
        port = server.sockets[0].getsockname()[1]
        with pytest.raises(HandshakeError, match="Sec-WebSocket-Accept"):
            await connect_feed(f"ws://127.0.0.1:{port}/", Inbox())


class ClientProcess:
    """``python -m telesniff.bench.clients`` on the gateway, driven through its stdin/stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdin is not None
        assert process.stdout is not None
        self.process, self.stdin, self.stdout = process, process.stdin, process.stdout

    @classmethod
    @contextlib.asynccontextmanager
    async def start(cls, gateway: RunningGateway, clients: int) -> AsyncIterator[ClientProcess]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "telesniff.bench.clients", gateway.ws_url(), str(clients),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            yield cls(process)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()

    async def command(self, message: dict[str, object]) -> None:
        self.stdin.write(orjson.dumps(message) + b"\n")
        await self.stdin.drain()

    async def answer(self) -> dict[str, object]:
        decoded = orjson.loads(await asyncio.wait_for(self.stdout.readline(), 30))
        assert isinstance(decoded, dict)
        return decoded


async def test_client_process_speaks_the_bench_protocol(
    gateway: RunningGateway, tmp_path: Path
) -> None:
    async with ClientProcess.start(gateway, 3) as clients:
        assert await clients.answer() == {"event": "ready", "clients": 3}
        await clients.command({"cmd": "expect", "group": "bench-g", "count": 12, "latency": True})
        stream, channel = gateway.settings.stream, gateway.settings.live_channel
        await produce(gateway.redis, stream, channel, [entry(group="other")])  # not counted
        await produce(gateway.redis, stream, channel, [entry(group="bench-g") for _ in range(11)])
        await produce(gateway.redis, stream, channel, [entry(group="bench-g", text=LARGE_TEXT)])
        delivered = await clients.answer()
        assert delivered["event"] == "delivered"
        assert delivered["group"] == "bench-g"
        path = tmp_path / "latency.bin"
        await clients.command({"cmd": "report", "path": str(path)})
        report = await clients.answer()
        assert report == {
            "event": "report", "received_min": 12, "received_max": 12, "closed": 0
        }  # fmt: skip
        samples = array("d", path.read_bytes())
        assert len(samples) == 3 * 12
        assert all(0 <= value < 30 for value in samples)
        await clients.command({"cmd": "quit"})
        assert await asyncio.wait_for(clients.process.wait(), 30) == 0


async def test_a_client_dropped_mid_phase_fails_it_at_once(
    gateway: RunningGateway, tmp_path: Path
) -> None:
    async with ClientProcess.start(gateway, 2) as clients:
        assert await clients.answer() == {"event": "ready", "clients": 2}
        await clients.command({"cmd": "expect", "group": "bench-d", "count": 2, "latency": False})
        settings = gateway.settings
        await produce(gateway.redis, settings.stream, settings.live_channel,
                      [entry(group="bench-d") for _ in range(2)])  # fmt: skip
        assert (await clients.answer())["event"] == "delivered"
        # A new phase owes each client 3 more; the gateway drops them before any arrive.
        await clients.command({"cmd": "expect", "group": "bench-d", "count": 3, "latency": False})
        # Commands are handled in order: once the report is back, the expect holds.
        await clients.command({"cmd": "report", "path": str(tmp_path / "r")})
        assert (await clients.answer())["event"] == "report"
        gateway.app.state.gateway.runtime.hub.drop_all(1013, "too slow", "slow")
        failure = await clients.answer()
        assert failure["event"] == "error"
        assert "disconnected (close 1013 'too slow') after 0 of 3 detections" in str(
            failure["error"]
        )


def test_feed_client_refuses_wss() -> None:
    async def attempt() -> None:
        FeedClient("wss://127.0.0.1:1/ws", Inbox())

    with pytest.raises(Exception, match="wss"):
        asyncio.run(attempt())
