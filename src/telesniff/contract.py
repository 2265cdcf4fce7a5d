"""The stream contract: the one entry every service reads and writes.

A message that matters becomes one Redis stream entry with a single field,
``FIELD``, holding the entry as JSON (orjson).  The JSON carries its schema
version in ``v`` so a consumer can tell an entry it does not understand
from a broken one.  See ``docs/stream-contract.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

import orjson
from pydantic import TypeAdapter, ValidationError

SCHEMA_VERSION: Final = 1
FIELD: Final = b"e"

MatchKind = Literal["solana", "evm", "url", "keyword", "regex"]
MATCH_KINDS: Final[tuple[MatchKind, ...]] = ("solana", "evm", "url", "keyword", "regex")


@dataclass(frozen=True, slots=True)
class Match:
    kind: MatchKind
    value: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One message that matched, as the listener saw it."""

    group: str
    chat_id: int
    message_id: int
    date: float  # when Telegram says it was posted (or edited), epoch seconds
    text: str
    matches: tuple[Match, ...]
    received_at: float  # when the listener saw it, epoch seconds; latency starts here
    sender_id: int | None = None
    sender: str | None = None  # username without "@", when the sender has one
    chat: str | None = None  # chat title or username, for display
    edit: bool = False
    v: int = field(default=SCHEMA_VERSION)


class ContractError(ValueError):
    """An entry that cannot be decoded; the message says why (for the dead-letter stream)."""


_ENTRY_ADAPTER: Final = TypeAdapter(Entry)


def encode(entry: Entry) -> bytes:
    return orjson.dumps(entry)


def decode(raw: bytes | str) -> Entry:
    """Parse and validate one entry's JSON, or raise ContractError with the reason."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ContractError(f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise ContractError(f"expected a JSON object, got {type(document).__name__}")
    version = document.get("v")
    if version != SCHEMA_VERSION:
        raise ContractError(f"unsupported schema version {version!r}, expected {SCHEMA_VERSION}")
    try:
        return _ENTRY_ADAPTER.validate_python(document, strict=False)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'entry'}: {problem['msg']}"
            for problem in error.errors(include_url=False)
        )
        raise ContractError(f"schema: {problems}") from None


def decode_fields(fields: dict[bytes, bytes]) -> Entry:
    """Decode a stream entry's field map (as redis-py returns it)."""
    raw = fields.get(FIELD)
    if raw is None:
        names = ", ".join(sorted(name.decode(errors="replace") for name in fields)) or "none"
        raise ContractError(f"missing field {FIELD.decode()!r} (fields: {names})")
    return decode(raw)


def to_view(entry: Entry, cursor: str) -> dict[str, Any]:
    """The shape clients see (REST items and WebSocket detections)."""
    return {
        "cursor": cursor,
        "group": entry.group,
        "chat_id": entry.chat_id,
        "chat": entry.chat,
        "message_id": entry.message_id,
        "sender_id": entry.sender_id,
        "sender": entry.sender,
        "date": entry.date,
        "text": entry.text,
        "matches": [{"kind": match.kind, "value": match.value} for match in entry.matches],
        "edit": entry.edit,
        "received_at": entry.received_at,
    }
