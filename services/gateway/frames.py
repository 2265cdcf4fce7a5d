"""Detections as the gateway sends them: decoded once, serialized once, shared by clients.

A batch from the live channel becomes a list of ``Item``: the detection's outgoing JSON
bytes (``contract.to_view`` shape) plus the few fields filters look at.  A ``Frame`` is
one ``{"type":"detections","items":[...]}`` message built by joining those bytes; the
hub builds it once per distinct filter and every client with that filter shares it,
down to the WebSocket frame on the wire (``Frame.wire``): a server's frames are unmasked
and, without compression, the same bytes for every client.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any, Final

import msgspec
import orjson

from telesniff.contract import ContractError, Entry, decode, decode_fields, to_view
from telesniff.gateway.filters import Filter

StreamKey = tuple[int, int]

_HEAD: Final = b'{"type":"detections","items":['
_TAIL: Final = b"]}"
_MAX_PART: Final = 2**64 - 1
_PAIRS: Final = msgspec.json.Decoder(list[tuple[str, msgspec.Raw]])
_PARTS: Final = msgspec.json.Decoder(list[msgspec.Raw])
_PAIR: Final = msgspec.json.Decoder(tuple[str, msgspec.Raw])
_FIN_TEXT: Final = 0x81  # RFC 6455 §5.2: FIN, opcode 1 (text); server frames carry no mask


def parse_stream_id(raw: str) -> StreamKey:
    """``"1733333333333-0"`` (or a bare ``"1733333333333"``) as a comparable pair."""
    milliseconds, dash, sequence = raw.partition("-")
    if not raw.isascii() or not milliseconds.isdigit() or (dash and not sequence.isdigit()):
        raise ValueError(f"not a stream id: {raw[:60]!r}")
    key = int(milliseconds), int(sequence or 0)
    if max(key) > _MAX_PART:
        raise ValueError(f"not a stream id (out of range): {raw[:60]!r}")
    return key


class Item:
    """One detection, ready to filter and send."""

    __slots__ = (
        "chat_id",
        "cursor",
        "data",
        "group",
        "key",
        "kinds",
        "sender",
        "sender_id",
        "text",
    )

    def __init__(self, cursor: str, key: StreamKey, entry: Entry) -> None:
        self.cursor = cursor
        self.key = key
        self.group = entry.group
        self.chat_id = entry.chat_id
        self.sender_id = entry.sender_id
        self.sender = entry.sender.lower() if entry.sender else None
        self.kinds = frozenset(match.kind for match in entry.matches)
        self.text = entry.text.casefold()
        self.data: bytes = orjson.dumps(to_view(entry, cursor))


def admits(rule: Filter, item: Item) -> bool:
    if rule.groups is not None and item.group not in rule.groups:
        return False
    if rule.chat_id is not None and item.chat_id != rule.chat_id:
        return False
    if rule.sender_id is not None and item.sender_id != rule.sender_id:
        return False
    if rule.sender is not None and item.sender != rule.sender:
        return False
    if rule.kinds is not None and rule.kinds.isdisjoint(item.kinds):
        return False
    return rule.q is None or rule.q in item.text


def select(rule: Filter, items: Sequence[Item]) -> list[Item]:
    if rule.is_open:
        return list(items)
    return [item for item in items if admits(rule, item)]


def encode_items(items: Sequence[Item]) -> bytes:
    """A detections message: the items' pre-serialized JSON joined, never re-serialized."""
    return _HEAD + b",".join(item.data for item in items) + _TAIL


def text_frame(payload: bytes) -> bytes:
    """``payload`` (valid UTF-8) as one complete, unmasked, uncompressed WebSocket text frame."""
    size = len(payload)
    if size < 126:
        head = bytes((_FIN_TEXT, size))
    elif size < 65_536:
        head = struct.pack("!BBH", _FIN_TEXT, 126, size)
    else:
        head = struct.pack("!BBQ", _FIN_TEXT, 127, size)
    return head + payload


class Frame:
    """One batch's detections for one filter; ``low``/``high`` bound its stream ids.

    ``payload`` is the message; ``wire`` (the raw fan-out) and ``text`` (the ASGI
    path) are made from it on first use, so each exists at most once per frame.
    """

    __slots__ = ("_text", "_wire", "high", "items", "low", "payload")

    def __init__(self, items: Sequence[Item]) -> None:
        self.items = items
        self.payload = encode_items(items)
        self.low = min(item.key for item in items)
        self.high = max(item.key for item in items)
        self._wire: bytes | None = None
        self._text: str | None = None

    @property
    def wire(self) -> bytes:
        if self._wire is None:
            self._wire = text_frame(self.payload)
        return self._wire

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self.payload.decode()
        return self._text


def decode_batch(payload: bytes) -> tuple[list[Item], int]:
    """A live-channel message (``[[stream_id, entry], ...]``): items, and how many were skipped.

    Each pair, and each entry (``contract.decode``), is validated on its own, so one bad
    one is skipped without losing the rest of its batch.
    """
    skipped = 0
    try:
        pairs = _PAIRS.decode(payload)
    except msgspec.ValidationError:  # not every pair is [id, entry]: take them one by one
        try:
            parts = _PARTS.decode(payload)
        except (msgspec.ValidationError, RecursionError):
            return [], 1
        pairs = [pair for pair in map(_pair, parts) if pair is not None]
        skipped = len(parts) - len(pairs)
    except (msgspec.DecodeError, RecursionError):  # not JSON (or nested too deeply)
        return [], 1
    items: list[Item] = []
    for cursor, raw in pairs:
        try:
            items.append(Item(cursor, parse_stream_id(cursor), decode(memoryview(raw))))
        except (ContractError, ValueError):
            skipped += 1
    return items, skipped


def _pair(part: msgspec.Raw) -> tuple[str, msgspec.Raw] | None:
    try:
        return _PAIR.decode(part)
    except (msgspec.ValidationError, RecursionError):
        return None


def item_from_stream(stream_id: bytes | str | None, fields: Any) -> Item | None:
    """A stream entry (validated with the contract); None when it cannot be decoded."""
    if stream_id is None or not isinstance(fields, dict):
        return None
    cursor = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
    try:
        return Item(cursor, parse_stream_id(cursor), decode_fields(fields))
    except (ContractError, ValueError):
        return None


def control(kind: str, **fields: Any) -> str:
    """A control message: hello, caught_up, gap."""
    return orjson.dumps({"type": kind, **fields}).decode()
