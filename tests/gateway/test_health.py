"""Readiness and the live feed when Redis goes away and comes back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from .harness import GatewayFactory, RedisProcess
from .kit import closed_by_server, entry, produce, read_until


async def ready(client: httpx.AsyncClient) -> tuple[int, dict[str, object]]:
    response = await client.get("/readyz")
    body: dict[str, object] = response.json()
    return response.status_code, body


async def eventually(check: Callable[[], object], seconds: float = 30.0) -> None:
    """Poll ``check`` (sync or async) until truthy; only for states that raise no event."""
    async with asyncio.timeout(seconds):
        while True:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            await asyncio.sleep(0.05)


async def test_readyz_fails_while_redis_is_down_and_clients_are_told_to_resume(
    tmp_path: Path, start_gateway_on: Callable[[str], GatewayFactory]
) -> None:
    server = RedisProcess(tmp_path)
    server.start()
    try:
        async with start_gateway_on(server.url)() as gw:
            hub = gw.app.state.gateway.runtime.hub
            async with httpx.AsyncClient(base_url=gw.base_url, timeout=10) as client:
                assert (await ready(client))[0] == 200
                ws = await connect(gw.ws_url())
                assert orjson.loads(await ws.recv())["type"] == "hello"

                server.stop()
                assert (await closed_by_server(ws, 60)).code == 1012
                assert hub.dropped["feed_interrupted"] == 1

                status, body = await ready(client)
                assert status == 503
                assert body["status"] == "unready"
                assert "redis" in body["failed"]  # type: ignore[operator]
                assert body["checks"]["database"] == "ok"  # type: ignore[index]
                await eventually(lambda: not hub.subscribed)
                assert "live" in (await ready(client))[1]["failed"]  # type: ignore[operator]

                server.start()  # same port

                async def recovered() -> bool:
                    return (await ready(client))[0] == 200

                await eventually(recovered)
                async with connect(gw.ws_url()) as again:
                    assert orjson.loads(await again.recv())["type"] == "hello"
                    ids = await produce(
                        gw.redis, gw.settings.stream, gw.settings.live_channel, [entry()]
                    )
                    received = await read_until(again, lambda r: ids[0] in r.cursors)
                    assert received.cursors == ids
    finally:
        server.stop()


async def test_ws_rejected_while_the_live_feed_is_down(
    tmp_path: Path, start_gateway_on: Callable[[str], GatewayFactory]
) -> None:
    server = RedisProcess(tmp_path)
    server.start()
    try:
        async with start_gateway_on(server.url)() as gw:
            hub = gw.app.state.gateway.runtime.hub
            server.stop()
            await eventually(lambda: not hub.subscribed)
            with pytest.raises(InvalidStatus) as rejected:
                await connect(gw.ws_url())
            assert rejected.value.response.status_code == 503
            assert orjson.loads(rejected.value.response.body) == {
                "detail": "live feed not ready, retry"
            }
    finally:
        server.stop()


async def test_shutdown_closes_clients(start_gateway: GatewayFactory) -> None:
    async with start_gateway() as gw:
        ws = await connect(gw.ws_url())
        assert orjson.loads(await ws.recv())["type"] == "hello"
    assert (await closed_by_server(ws)).code == 1012  # service restart: reconnect and resume
