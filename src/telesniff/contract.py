"""The stream contract: the one entry every service reads and writes.

A message that matters becomes one Redis stream entry with a single field,
``FIELD``, holding the entry as JSON (msgspec).  The JSON carries its schema
version in ``v`` so a consumer can tell an entry it does not understand
from a broken one.  See ``docs/stream-contract.md``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, Literal

import msgspec

SCHEMA_VERSION: Final = 1
FIELD: Final = b"e"

MatchKind = Literal["solana", "evm", "url", "keyword", "regex"]
MATCH_KINDS: Final[tuple[MatchKind, ...]] = ("solana", "evm", "url", "keyword", "regex")

# PostgreSQL's bigint: a larger id could never be stored, and would stall the writer.
# Ids are 64-bit in both databases; anything wider is refused where it comes in.
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
Int64 = Annotated[int, msgspec.Meta(ge=INT64_MIN, le=INT64_MAX)]


# msgspec Structs rather than dataclasses: every message builds one Entry and its Matches
# in the listener and again in the consumer, and a Struct is built, encoded and decoded
# (with validation) in C, several times faster than a frozen dataclass and orjson.
# ``gc=False``: they hold only strings, numbers and Matches, so they can never be part
# of a reference cycle, and the thousands a consumer buffers cost the collector nothing.
class Match(msgspec.Struct, frozen=True, gc=False):
    kind: MatchKind
    value: str


class Entry(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One message that matched, as the listener saw it."""

    group: str
    chat_id: Int64
    message_id: Int64
    date: float  # when Telegram says it was posted (or edited), epoch seconds
    text: str
    matches: tuple[Match, ...]
    received_at: float  # when the listener saw it, epoch seconds; latency starts here
    sender_id: Int64 | None = None
    sender: str | None = None  # username without "@", when the sender has one
    chat: str | None = None  # chat title or username, for display
    edit: bool = False
    v: int = SCHEMA_VERSION


class ContractError(ValueError):
    """An entry that cannot be decoded; the message says why (for the dead-letter stream)."""


# Validation is exact, not coercing (msgspec's strict mode): integers are JSON integers
# (not ``true``, not ``"5"``, not ``5.0``) within 64 bits, floats are JSON numbers (an
# integer is taken as a float), strings are strings, ``edit`` is a boolean.  Keys the
# schema does not know are ignored.
_DECODER: Final = msgspec.json.Decoder(Entry)
_ENCODER: Final = msgspec.json.Encoder()
_WHERE: Final = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
# msgspec raises RecursionError for nesting deeper than Python's recursion limit.
_TOO_DEEP: Final = "not JSON: nested too deeply"
_MISSING_FIELD: Final = re.compile(r"^Object missing required field `(?P<name>[^`]*)`$")


def encode(entry: Entry) -> bytes:
    return _ENCODER.encode(entry)


def encode_matches(matches: tuple[Match, ...]) -> bytes:
    """``[{"kind": …, "value": …}, …]``, as in the entry (the stored ``matches`` column)."""
    return _ENCODER.encode(matches)


def decode(raw: bytes | memoryview | str) -> Entry:
    """Parse and validate one entry's JSON, or raise ContractError with the reason."""
    try:
        entry = _DECODER.decode(raw)
    except msgspec.ValidationError as error:
        raise _explain(raw, str(error)) from None
    except msgspec.DecodeError as error:  # (after ValidationError, its subclass)
        raise ContractError(f"not JSON: {error}") from None
    except RecursionError:
        raise ContractError(_TOO_DEEP) from None
    if entry.v != SCHEMA_VERSION:
        raise _unsupported(entry.v)
    return entry


def _explain(raw: bytes | memoryview | str, message: str) -> ContractError:
    """The dead-letter reason: the version first (a newer producer's entry fails for that
    reason, whatever else differs), else which field and what it should be."""
    try:
        document = msgspec.json.decode(raw)
    except msgspec.DecodeError as error:  # malformed further on than the field that failed
        return ContractError(f"not JSON: {error}")
    except RecursionError:
        return ContractError(_TOO_DEEP)
    if type(document) is dict and "v" in document:
        version = document["v"]
        if type(version) is not int or version != SCHEMA_VERSION:
            return _unsupported(version)
    where = _WHERE.search(message)
    path = ""
    if where is not None:
        message = message[: where.start()]
        path = re.sub(r"\[(\d+)\]", r".\1", where["path"])
    missing = _MISSING_FIELD.match(message)
    if missing is not None:
        path = f"{path}.{missing['name']}" if path else missing["name"]
        message = "required field missing"
    elif message.startswith("Invalid enum value"):  # the only enum is a match's kind
        message += f", expected one of {', '.join(MATCH_KINDS)}"
    message = message[:1].lower() + message[1:]
    return ContractError(f"schema: {path}: {message}" if path else f"schema: {message}")


def _unsupported(version: object) -> ContractError:
    shown = _ENCODER.encode(version).decode()
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return ContractError(f"unsupported schema version {shown}, expected {SCHEMA_VERSION}")


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
