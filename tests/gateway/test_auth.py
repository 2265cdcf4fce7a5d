"""Bearer tokens on REST and WebSocket, and allowed origins, on a real gateway."""

from __future__ import annotations

import logging

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from .harness import GatewayFactory

TOKEN = "tok-3f9a1c77e2"
SECOND = "tok-second-55aa"


async def test_rest_requires_a_configured_bearer_token(
    start_gateway: GatewayFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with (
        start_gateway(api_tokens=[TOKEN, SECOND]) as gw,
        httpx.AsyncClient(base_url=gw.base_url) as client,
    ):
        for path in ("/api/detections", "/api/stats", "/api/addresses/hot", "/api/addresses/x"):
            missing = await client.get(path)
            assert missing.status_code == 401, path
            assert missing.json() == {
                "detail": "missing bearer token (Authorization: Bearer <token>)"
            }
            assert missing.headers["www-authenticate"] == "Bearer"
        wrong = await client.get("/api/detections", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.json() == {"detail": "invalid bearer token"}
        prefix = await client.get(
            "/api/detections", headers={"Authorization": f"Bearer {TOKEN[:-1]}"}
        )
        assert prefix.status_code == 401
        basic = await client.get("/api/detections", headers={"Authorization": f"Basic {TOKEN}"})
        assert basic.status_code == 401
        for token in (TOKEN, SECOND):
            ok = await client.get("/api/detections", headers={"Authorization": f"bearer {token}"})
            assert ok.status_code == 200
            assert ok.json() == {"items": [], "next": None}
        for path in ("/healthz", "/readyz", "/", "/metrics"):
            assert (await client.get(path)).status_code == 200, path
    assert TOKEN not in caplog.text
    assert SECOND not in caplog.text


async def test_websocket_requires_a_token(start_gateway: GatewayFactory) -> None:
    async with start_gateway(api_tokens=[TOKEN]) as gw:
        with pytest.raises(InvalidStatus) as missing:
            await connect(gw.ws_url())
        assert missing.value.response.status_code == 401
        assert orjson.loads(missing.value.response.body) == {"detail": "missing bearer token"}

        with pytest.raises(InvalidStatus) as wrong:
            await connect(gw.ws_url(), subprotocols=["telesniff.v1", "bearer.wrong"])  # type: ignore[list-item]
        assert wrong.value.response.status_code == 401
        assert orjson.loads(wrong.value.response.body) == {"detail": "invalid bearer token"}

        # Browsers: the token as a subprotocol, next to telesniff.v1 which the server selects.
        async with connect(
            gw.ws_url(),
            subprotocols=["telesniff.v1", f"bearer.{TOKEN}"],  # type: ignore[list-item]
        ) as ws:
            assert ws.subprotocol == "telesniff.v1"
            assert orjson.loads(await ws.recv())["type"] == "hello"

        # Other clients: the Authorization header.
        async with connect(
            gw.ws_url(), additional_headers={"Authorization": f"Bearer {TOKEN}"}
        ) as ws:
            assert ws.subprotocol is None
            assert orjson.loads(await ws.recv())["type"] == "hello"

        # A token subprotocol alone cannot be answered (the server never echoes a token).
        with pytest.raises(InvalidStatus) as unanswerable:
            await connect(gw.ws_url(), subprotocols=[f"bearer.{TOKEN}"])  # type: ignore[list-item]
        assert unanswerable.value.response.status_code == 400
        assert "telesniff.v1" in orjson.loads(unanswerable.value.response.body)["detail"]


async def test_no_tokens_means_open(start_gateway: GatewayFactory) -> None:
    async with start_gateway() as gw:
        async with httpx.AsyncClient(base_url=gw.base_url) as client:
            assert (await client.get("/api/detections")).status_code == 200
        async with connect(gw.ws_url(), subprotocols=["telesniff.v1"]) as ws:  # type: ignore[list-item]
            assert ws.subprotocol == "telesniff.v1"
            assert orjson.loads(await ws.recv())["type"] == "hello"


async def test_websocket_origin_must_be_allowed(start_gateway: GatewayFactory) -> None:
    good = "https://desk.example"
    async with start_gateway(allowed_origins=[good, "https://other.example/"]) as gw:
        with pytest.raises(InvalidStatus) as evil:
            await connect(gw.ws_url(), origin="https://evil.example")  # type: ignore[arg-type]
        assert evil.value.response.status_code == 403
        assert orjson.loads(evil.value.response.body) == {"detail": "origin not allowed"}
        for origin in (good, "https://other.example", f"http://127.0.0.1:{gw.port}", None):
            async with connect(gw.ws_url(), origin=origin) as ws:  # type: ignore[arg-type]
                assert orjson.loads(await ws.recv())["type"] == "hello", origin


async def test_any_origin_when_none_configured(start_gateway: GatewayFactory) -> None:
    async with (
        start_gateway() as gw,
        connect(gw.ws_url(), origin="https://anywhere.example") as ws,  # type: ignore[arg-type]
    ):
        assert orjson.loads(await ws.recv())["type"] == "hello"


async def test_cors_for_rest(start_gateway: GatewayFactory) -> None:
    good = "https://desk.example"
    async with (
        start_gateway(allowed_origins=[good], api_tokens=[TOKEN]) as gw,
        httpx.AsyncClient(base_url=gw.base_url) as client,
    ):
        preflight = await client.options(
            "/api/detections",
            headers={
                "Origin": good,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == good
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        evil = await client.options(
            "/api/detections",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert evil.status_code == 400
        assert "access-control-allow-origin" not in evil.headers
        simple = await client.get(
            "/api/detections",
            headers={"Origin": good, "Authorization": f"Bearer {TOKEN}"},
        )
        assert simple.status_code == 200
        assert simple.headers["access-control-allow-origin"] == good
