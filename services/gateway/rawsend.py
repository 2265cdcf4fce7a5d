"""uvicorn's websockets-sansio protocol, plus a raw writer for the live fan-out.

The hub sends every client the same frame bytes (``frames.Frame.wire``).  Through ASGI,
each send is a task wakeup, an await, a ``websocket.send`` event and a frame encoding
per client; this protocol instead puts a narrow writer in the connection's scope,
``scope["extensions"][RAW_SEND]["write"]`` (ASGI extensions are dicts):
``write(frames)`` puts complete frames on the transport synchronously (one
``writelines``) and returns the bytes the client had still not taken from earlier
writes when these were added (for the slow-client limit), or -1 when the connection no
longer takes frames.  Measured before the write, so one large flush (a backlog caught
up in one pass) is not mistaken for a client that stopped reading.  Beside it,
``abort()`` drops the connection without flushing: for a peer that stopped reading,
whose buffered frames (up to the slow-client limit) would otherwise stay until TCP
gives up.

Why raw writes are safe here:

- Never inside another frame: every write of the protocol (``send``, pongs, keepalive
  pings, close) is one ``transport.write`` of whole frames drained from the sans-I/O
  connection in the same callback, and ``write`` puts only whole frames; the event
  loop runs one callback at a time.
- Never before the handshake or after a close: ``write`` refuses unless the sans-I/O
  connection is OPEN (it leaves that state as soon as a close frame is sent or
  received, or the connection fails), no close was sent through ASGI or by the
  keepalive, and the transport is not closing.
- Valid whatever was negotiated: raw frames are uncompressed (RSV1 clear), which
  RFC 7692 allows beside compressed ones; the gateway turns compression off anyway.
- Never reordered with ASGI sends: the gateway stops sending through ASGI (whose
  ``send`` may wait for the transport to drain) before it starts writing raw, and
  closes through ASGI only after it stopped writing raw.

Servers without this protocol (other ASGI servers, other uvicorn ``ws`` settings) have
no such extension, and the gateway sends through ASGI as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import State

RAW_SEND: Final = "telesniff.raw_send"

RawSend = Callable[[list[bytes]], int]
"""Write complete frames; the bytes still unsent from before them, or -1 if refused."""


class RawSendProtocol(WebSocketsSansIOProtocol):
    """The websockets-sansio protocol with ``scope["extensions"][RAW_SEND]``."""

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        if self.response.status_code == 101:  # otherwise no scope: rejected at once
            # The ASGI task was created but has not run yet: it sees the extension.
            extensions: dict[str, Any] = self.scope["extensions"] or {}
            extensions[RAW_SEND] = {"write": self.write_frames, "abort": self.transport.abort}
            self.scope["extensions"] = extensions

    def write_frames(self, frames: list[bytes]) -> int:
        transport = self.transport
        if self.close_sent or self.conn.state is not State.OPEN or transport.is_closing():
            return -1
        backlog = transport.get_write_buffer_size()
        if len(frames) == 1:
            transport.write(frames[0])
        else:
            transport.writelines(frames)
        return backlog


def raw_sender(scope: Mapping[str, Any]) -> RawSend | None:
    """The connection's raw writer, or None when the server offers none."""
    write: RawSend | None = _raw(scope, "write")
    return write


def raw_abort(scope: Mapping[str, Any]) -> Callable[[], None] | None:
    """Drop the connection without flushing it, or None when the server offers no way."""
    abort: Callable[[], None] | None = _raw(scope, "abort")
    return abort


def _raw(scope: Mapping[str, Any], name: str) -> Any:
    extension = (scope.get("extensions") or {}).get(RAW_SEND) or {}
    function = extension.get(name)
    return function if callable(function) else None
