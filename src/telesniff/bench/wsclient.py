"""A receive-only WebSocket client that costs the bench as little CPU as it can.

The bench's clients share two CPUs with the gateway, consumers, listener, Redis and
PostgreSQL they measure, so every microsecond they spend per frame is added to the
latency they report. ``FeedClient`` is a plain ``asyncio.Protocol``: each chunk the
loop reads is parsed in ``data_received``, with no task wakeup, queue or future per
message.

The opening handshake is websockets' own (``websockets.client.ClientProtocol``: the
request with a fresh ``Sec-WebSocket-Key``, then the response checked: status 101,
``Upgrade``/``Connection``, ``Sec-WebSocket-Accept``, no extension or subprotocol we
did not offer). Frames after it are read here rather than by ``ClientProtocol``:
measured on this machine (docs/bench.md), its generator-based reader costs about
three times what the loop below does per frame, and a server-to-client frame needs
little (RFC 6455 §5.2): unmasked, 7/16/64-bit length, FIN and continuation frames,
ping answered by pong, close answered by close. Client-to-server frames (pong, close)
are masked, built by websockets' ``Frame.serialize``. Anything a server must not send
(mask bit, RSV bits without an extension, reserved opcodes, fragmented or oversized
control frames, a continuation out of place, a malformed close) fails the connection
with close code 1002, as §7.1.7 says.

Like ``recv(decode=False)`` in websockets, text is handed over as the raw UTF-8 bytes
without decoding it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Final, cast

from websockets.client import ClientProtocol
from websockets.exceptions import InvalidURI, ProtocolError
from websockets.frames import Close, CloseCode, Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

OnMessage = Callable[[bytes, float], None]  # (message, time.time() when its bytes arrived)

_END_OF_HEAD: Final = b"\r\n\r\n"
_MAX_HEAD: Final = 64 * 1024  # an HTTP response head larger than this is not a handshake
_CLOSE_WAIT_S: Final = 5.0  # the server closes TCP after the close handshake (§7.1.1)
_TEXT, _BINARY, _CONT = 0x1, 0x2, 0x0
_CLOSE, _PING, _PONG = 0x8, 0x9, 0xA


class HandshakeError(ConnectionError):
    """The server did not accept the WebSocket opening handshake."""


class FeedClient(asyncio.Protocol):
    """One connection: ``greeting`` resolves with the first message, ``on_message`` gets
    every later one, ``closed`` resolves when the TCP connection is gone."""

    def __init__(self, url: str, on_message: OnMessage) -> None:
        uri = parse_uri(url)
        if uri.secure:
            raise InvalidURI(url, "wss:// is not supported by the bench client")
        self.on_message: OnMessage = self._greet  # the first message, then ``handler``
        self.handler = on_message
        self.handshake = ClientProtocol(uri, max_size=None)  # offers no extension
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.greeting: asyncio.Future[bytes] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.open = False
        self.close_received: Close | None = None  # the server's close frame, once received
        self.close_sent = False
        self.error: Exception | None = None  # why this side failed the connection
        self._buffer = bytearray()  # bytes of an incomplete frame (or response head)
        self._wanted = 0  # how many buffered bytes are worth parsing again
        self._fragments: list[bytes] | None = None  # a fragmented message so far

    # asyncio.Protocol.

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.handshake.send_request(self.handshake.connect())
        self.transport.write(b"".join(self.handshake.data_to_send()))

    def data_received(self, data: bytes) -> None:
        if self.open:
            self._frames(data, time.time())
        elif not self.opened.done():
            self._response(data)
        # else: after a close frame or a failure, the rest is not data (§5.5.1)

    def _greet(self, message: bytes, now: float) -> None:
        self.on_message = self.handler
        if not self.greeting.done():
            self.greeting.set_result(message)

    def eof_received(self) -> bool | None:
        return None  # close our side too: a WebSocket connection is not half-open

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        failure = self.error or exc or ConnectionError("connection closed")
        for future in (self.opened, self.greeting):
            if not future.done():
                future.set_exception(failure)
        if not self.closed.done():
            self.closed.set_result(None)

    # Closing.

    def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Start the closing handshake (the server answers, then closes TCP)."""
        if self.transport is None or self.transport.is_closing():
            return
        if self.open and not self.close_sent:
            self._send(Frame(Opcode.CLOSE, Close(code, reason).serialize()))
            self.close_sent = True
        self._close_later()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, error: Exception) -> None:
        self.error = error
        self.close(CloseCode.PROTOCOL_ERROR)
        self.open = False
        if self.transport is not None:
            self.transport.close()  # §7.1.7: no waiting for the peer after a failure

    def _close_later(self) -> None:
        assert self.transport is not None
        asyncio.get_running_loop().call_later(_CLOSE_WAIT_S, self.transport.close)

    def _send(self, frame: Frame) -> None:
        assert self.transport is not None
        self.transport.write(frame.serialize(mask=True))

    # The opening handshake.

    def _response(self, data: bytes) -> None:
        self._buffer += data
        end = self._buffer.find(_END_OF_HEAD)
        if end < 0:
            if len(self._buffer) > _MAX_HEAD:
                self._reject(HandshakeError("no end to the HTTP response head"))
            return
        end += len(_END_OF_HEAD)
        head, rest = bytes(self._buffer[:end]), bytes(self._buffer[end:])
        self._buffer.clear()
        # Only the head goes to ClientProtocol, so that the frames are read below.
        self.handshake.receive_data(head)
        self.handshake.events_received()
        if self.handshake.state is not State.OPEN:
            cause = self.handshake.handshake_exc
            self._reject(HandshakeError(f"handshake refused: {cause!r}"), cause)
            return
        self.open = True
        self.opened.set_result(None)
        if rest:
            self._frames(rest, time.time())

    def _reject(self, error: HandshakeError, cause: Exception | None = None) -> None:
        error.__cause__ = cause
        self.error = error
        assert self.transport is not None
        self.transport.close()

    # Frames (RFC 6455 §5.2), server to client.

    def _frames(self, data: bytes, now: float) -> None:
        if self._buffer:
            self._buffer += data
            if len(self._buffer) < self._wanted:
                return  # most of a large frame is still to come: parse once it is all here
            data = bytes(self._buffer)
            self._buffer.clear()
        size, pos = len(data), 0
        while size - pos >= 2:
            head, length = data[pos], data[pos + 1]
            if length & 0x80 or head & 0x70:  # masked, or RSV1-3 without an extension
                self._fail(ProtocolError("masked frame or reserved bits from the server"))
                return
            start = pos + 2
            if length >= 126:
                start += 2 if length == 126 else 8
                if start > size:
                    self._wanted = start - pos
                    break
                length = int.from_bytes(data[pos + 2 : start], "big")
            end = start + length
            if end > size:
                self._wanted = end - pos
                break
            if head == 0x81 and self._fragments is None:  # FIN + text: nearly every frame
                self.on_message(data[start:end], now)
            else:
                self._other(head & 0x0F, head & 0x80 != 0, data[start:end], now)
                if not self.open:
                    return
            pos = end
        else:
            self._wanted = 2
        if pos < size:
            self._buffer += data[pos:]

    def _other(self, opcode: int, fin: bool, payload: bytes, now: float) -> None:
        if opcode in (_TEXT, _BINARY):
            if self._fragments is not None:
                self._fail(ProtocolError("a new message inside a fragmented one"))
            elif fin:
                self.on_message(payload, now)
            else:
                self._fragments = [payload]
        elif opcode == _CONT:
            if self._fragments is None:
                self._fail(ProtocolError("a continuation frame outside a message"))
                return
            self._fragments.append(payload)
            if fin:
                message, self._fragments = b"".join(self._fragments), None
                self.on_message(message, now)
        elif opcode in (_CLOSE, _PING, _PONG):
            if not fin or len(payload) > 125:
                self._fail(ProtocolError("a fragmented or oversized control frame"))
            elif opcode == _PING:
                if not self.close_sent:
                    self._send(Frame(Opcode.PONG, payload))
            elif opcode == _CLOSE:
                self._on_close(payload)
        else:
            self._fail(ProtocolError(f"reserved opcode {opcode}"))

    def _on_close(self, payload: bytes) -> None:
        try:
            self.close_received = Close.parse(payload)  # checks the code and the UTF-8
        except (ProtocolError, UnicodeDecodeError) as error:
            self._fail(ProtocolError(f"malformed close frame: {error}"))
            return
        if self._fragments is not None:
            self._fail(ProtocolError("close inside a fragmented message"))
            return
        if not self.close_sent:  # §5.5.1: echo the code
            self._send(Frame(Opcode.CLOSE, payload))
            self.close_sent = True
        self.open = False  # nothing after a close frame is data
        self._close_later()


async def connect_feed(url: str, on_message: OnMessage) -> FeedClient:
    """Open a connection and complete the handshake; raises OSError or HandshakeError."""
    uri = parse_uri(url)
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(
        lambda: FeedClient(url, on_message), uri.host, uri.port
    )
    try:
        await asyncio.shield(client.opened)
    except BaseException:  # also when cancelled by the caller's timeout
        client.abort()
        raise
    return client
