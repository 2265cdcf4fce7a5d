"""``/ws``: the live feed, with per-connection filters and resume from a cursor.

Handshake checks (before accept, answered with an HTTP status and a JSON reason):
Origin (403), bearer token from ``Authorization`` or a ``bearer.<token>`` subprotocol
(401), subprotocol ``telesniff.v1`` required when any is offered (400), query
parameters (400), live feed subscribed (503).  See docs/api.md for the protocol.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import Final

from fastapi import APIRouter, WebSocket, status
from redis.exceptions import RedisError
from starlette.websockets import WebSocketDisconnect

from telesniff.gateway.auth import (
    SUBPROTOCOL,
    bearer_from_header,
    bearer_from_subprotocols,
    origin_allowed,
    token_matches,
)
from telesniff.gateway.deps import Gateway, GatewayDep, JSONBytes, Runtime
from telesniff.gateway.filters import Filter, FilterError, parse_filter
from telesniff.gateway.frames import Frame, StreamKey, control, parse_stream_id
from telesniff.gateway.hub import Client
from telesniff.gateway.rawsend import raw_abort, raw_sender
from telesniff.gateway.resume import format_stream_id

log = logging.getLogger(__name__)

router = APIRouter()

CLOSE_TIMEOUT_S: Final = 10.0


class Rejected(Exception):
    def __init__(self, status_code: int, reason: str) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason


def _handshake(
    websocket: WebSocket, gateway: Gateway
) -> tuple[Runtime, Filter, StreamKey | None, str | None]:
    """Check a connection before accepting it; raises Rejected with the status and why."""
    headers = websocket.headers
    if not origin_allowed(headers.get("origin"), headers.get("host"), gateway.origins):
        raise Rejected(status.HTTP_403_FORBIDDEN, "origin not allowed")
    offered: list[str] = list(websocket.scope.get("subprotocols") or [])
    if gateway.tokens:
        presented = bearer_from_header(headers.get("authorization"))
        if presented is None:
            presented = bearer_from_subprotocols(offered)
        if presented is None:
            raise Rejected(status.HTTP_401_UNAUTHORIZED, "missing bearer token")
        if not token_matches(presented, gateway.tokens):
            raise Rejected(status.HTTP_401_UNAUTHORIZED, "invalid bearer token")
    if offered and SUBPROTOCOL not in offered:
        raise Rejected(status.HTTP_400_BAD_REQUEST, f"offer the {SUBPROTOCOL} subprotocol")
    params = websocket.query_params
    try:
        rule = parse_filter(
            group=params.get("group"),
            chat=params.get("chat"),
            sender=params.get("sender"),
            kind=params.get("kind"),
            q=params.get("q"),
        )
    except FilterError as error:
        raise Rejected(status.HTTP_400_BAD_REQUEST, str(error)) from None
    cursor: StreamKey | None = None
    if params.get("cursor"):
        try:
            cursor = parse_stream_id(params["cursor"].strip())
        except ValueError:
            raise Rejected(status.HTTP_400_BAD_REQUEST, "cursor: not a stream id") from None
    runtime = gateway.runtime
    if runtime is None or not runtime.hub.subscribed:
        raise Rejected(status.HTTP_503_SERVICE_UNAVAILABLE, "live feed not ready, retry")
    return runtime, rule, cursor, SUBPROTOCOL if offered else None


async def _reject(websocket: WebSocket, rejected: Rejected) -> None:
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        response = JSONBytes({"detail": rejected.reason}, status_code=rejected.status_code)
        if rejected.status_code == status.HTTP_401_UNAUTHORIZED:
            response.headers["WWW-Authenticate"] = "Bearer"
        await websocket.send_denial_response(response)
    else:  # servers without the denial extension answer a pre-accept close with HTTP 403
        await websocket.close(code=4000 + rejected.status_code, reason=rejected.reason)


async def _close(websocket: WebSocket, client: Client) -> None:
    """Close with the hub's code and reason; a socket that never drains is given up on.

    Given up on means aborted where the server lets us: a peer that stopped reading
    would otherwise keep its unsent frames (up to the slow-client limit) in memory
    until TCP itself gives up, which can take many minutes.
    """
    try:
        await asyncio.wait_for(
            websocket.close(client.close_code, client.close_reason), CLOSE_TIMEOUT_S
        )
    except Exception:
        abort = raw_abort(websocket.scope)
        if abort is not None:
            abort()


async def _until_disconnect(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, until it goes away."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


@router.websocket("/ws")
async def live(websocket: WebSocket, gateway: GatewayDep) -> None:
    try:
        runtime, rule, cursor, subprotocol = _handshake(websocket, gateway)
    except Rejected as rejected:
        await _reject(websocket, rejected)
        return
    await websocket.accept(subprotocol=subprotocol)
    metrics = gateway.metrics
    metrics.ws_clients.inc()
    hub = runtime.hub
    settings = gateway.settings
    client = Client(rule, settings.client_queue, settings.client_buffer_bytes)
    try:
        await _session(websocket, gateway, runtime, client, cursor)
    except (WebSocketDisconnect, OSError):
        pass
    except RedisError as error:
        log.warning("stream read failed for a WebSocket client: %s", error)
        with suppress(Exception):
            await asyncio.wait_for(
                websocket.close(status.WS_1011_INTERNAL_ERROR, "stream read failed"),
                CLOSE_TIMEOUT_S,
            )
    finally:
        hub.unregister(client)
        metrics.ws_clients.dec()


async def _session(
    websocket: WebSocket,
    gateway: Gateway,
    runtime: Runtime,
    client: Client,
    cursor: StreamKey | None,
) -> None:
    metrics = gateway.metrics
    reader, hub = runtime.reader, runtime.hub

    async def say(text: str) -> None:
        await websocket.send_text(text)
        metrics.sent.add(0)

    async def send_frame(frame: Frame) -> None:
        await websocket.send_text(frame.text)
        metrics.sent.add(len(frame.items))

    if cursor is None:
        # Registered before reading the head: nothing falls between the two.
        if not hub.register(client):
            await _close(websocket, client)
            return
        await say(control("hello", cursor=await reader.newest_id()))
    else:
        await say(control("hello", cursor=await reader.newest_id()))
        oldest = await reader.gap_before(cursor)
        if oldest is not None:
            await say(control("gap", oldest=oldest))
        # Replay the bulk unsubscribed, then subscribe and replay the short tail: every
        # entry after the tail's last id is published after we subscribed, so it is in
        # the queue; every entry up to it was replayed (live copies are skipped).
        position = await reader.replay(format_stream_id(cursor), client.rule, send_frame)
        if not hub.register(client):
            await _close(websocket, client)
            return
        position = await reader.replay(position, client.rule, send_frame)
        client.after = parse_stream_id(position)
        await say(control("caught_up", cursor=position))

    # Live.  With the raw writer the hub writes this client's frames itself; switched
    # right after the last ASGI send above, with no await in between (see Hub.go_raw).
    write = raw_sender(websocket.scope)
    pump: asyncio.Task[None] | None = None
    if write is not None:
        hub.go_raw(client, write)
    else:
        pump = asyncio.create_task(client.pump(websocket.send_text, metrics))
    listening = asyncio.create_task(_until_disconnect(websocket))
    dropped = asyncio.create_task(client.closed.wait())
    tasks = {listening, dropped} if pump is None else {pump, listening, dropped}
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if dropped in done:
        # The hub gave up on this client (too slow, feed interrupted, shutdown).  It is
        # unregistered already, so no raw write can follow the close frame.
        await _close(websocket, client)
    elif pump is not None and pump in done and not pump.cancelled():
        error = pump.exception()
        if error is not None and not isinstance(error, (WebSocketDisconnect, OSError)):
            log.error("WebSocket sender failed", exc_info=error)
            with suppress(Exception):
                await asyncio.wait_for(
                    websocket.close(status.WS_1011_INTERNAL_ERROR, "internal error"),
                    CLOSE_TIMEOUT_S,
                )
