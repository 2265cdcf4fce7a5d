"""The stream contract: the one entry every service reads and writes.

A message that matters becomes one Redis stream entry with a single field,
``FIELD``, holding the entry as JSON (orjson).  The JSON carries its schema
version in ``v`` so a consumer can tell an entry it does not understand
from a broken one.  See ``docs/stream-contract.md``.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Final, Literal

import orjson

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


_MISSING: Final = object()
# PostgreSQL's bigint: a larger id could never be stored, and would stall the writer.
# Ids are 64-bit in both databases; anything wider is refused where it comes in.
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
_REQUIRED: Final = tuple(item.name for item in fields(Entry) if item.default is MISSING)
_KINDS: Final[dict[str, MatchKind]] = {kind: kind for kind in MATCH_KINDS}


# Decoding builds an Entry and its Matches per message.  A frozen dataclass's own
# ``__init__`` sets each field through ``object.__setattr__``, which for ``Entry`` costs
# more than parsing its JSON; setting the slots through their descriptors gives the same
# objects (fields, equality, hash) in a quarter of the time.
_MATCH_SLOTS: Final = tuple(getattr(Match, item.name).__set__ for item in fields(Match))
_new: Final = object.__new__


def _slots(cls: type[Any]) -> dict[str, Any]:
    """Each field's slot setter (``setter(instance, value)``), by name."""
    return {item.name: getattr(cls, item.name).__set__ for item in fields(cls)}


_E: Final = _slots(Entry)
_set_group, _set_chat_id, _set_message_id = _E["group"], _E["chat_id"], _E["message_id"]
_set_date, _set_text, _set_matches = _E["date"], _E["text"], _E["matches"]
_set_received_at, _set_sender_id, _set_sender = _E["received_at"], _E["sender_id"], _E["sender"]
_set_chat, _set_edit, _set_v = _E["chat"], _E["edit"], _E["v"]


def _new_entry(
    group: str, chat_id: int, message_id: int, date: float, text: str,
    matches: tuple[Match, ...], received_at: float, sender_id: int | None, sender: str | None,
    chat: str | None, edit: bool,
) -> Entry:  # fmt: skip
    entry = _new(Entry)
    _set_group(entry, group)
    _set_chat_id(entry, chat_id)
    _set_message_id(entry, message_id)
    _set_date(entry, date)
    _set_text(entry, text)
    _set_matches(entry, matches)
    _set_received_at(entry, received_at)
    _set_sender_id(entry, sender_id)
    _set_sender(entry, sender)
    _set_chat(entry, chat)
    _set_edit(entry, edit)
    _set_v(entry, SCHEMA_VERSION)
    return entry


def _new_match(kind: MatchKind, value: str) -> Match:
    match = _new(Match)
    set_kind, set_value = _MATCH_SLOTS
    set_kind(match, kind)
    set_value(match, value)
    return match


def encode(entry: Entry) -> bytes:
    return orjson.dumps(entry)


def decode(raw: bytes | str) -> Entry:
    """Parse and validate one entry's JSON, or raise ContractError with the reason.

    Validation is exact, not coercing: integers are JSON integers (not ``true``, not
    ``"5"``, not ``5.0``) within 64 bits, floats are JSON numbers, strings are strings,
    ``edit`` is a boolean.  Keys the schema does not know are ignored.
    """
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ContractError(f"not JSON: {error}") from None
    return from_document(document)


def from_document(document: object) -> Entry:
    """Validate an entry already parsed from JSON (the live channel's batches are parsed
    whole), or raise ContractError with the reason; the rules are ``decode``'s."""
    if type(document) is not dict:
        raise ContractError(f"expected a JSON object, got {type(document).__name__}")
    version = document.get("v")
    if type(version) is not int or version != SCHEMA_VERSION:
        raise ContractError(f"unsupported schema version {version!r}, expected {SCHEMA_VERSION}")
    # One field after the other, inline: this runs for every message the consumer reads.
    try:
        group, chat_id, message_id = document["group"], document["chat_id"], document["message_id"]
        date, text, matches = document["date"], document["text"], document["matches"]
        received_at = document["received_at"]
    except KeyError:
        missing = ", ".join(name for name in _REQUIRED if name not in document)
        raise ContractError(f"schema: {missing}: required field missing") from None
    if type(group) is not str:
        raise _wrong("group", group, "a string")
    if type(chat_id) is not int or not INT64_MIN <= chat_id <= INT64_MAX:
        raise _wrong("chat_id", chat_id, "a 64-bit integer")
    if type(message_id) is not int or not INT64_MIN <= message_id <= INT64_MAX:
        raise _wrong("message_id", message_id, "a 64-bit integer")
    if type(date) is not float:
        date = _number(date, "date")
    if type(text) is not str:
        raise _wrong("text", text, "a string")
    matches = _matches(matches)
    if type(received_at) is not float:
        received_at = _number(received_at, "received_at")
    get = document.get
    sender_id, sender, chat, edit = get("sender_id"), get("sender"), get("chat"), get("edit", False)
    if sender_id is not None and (
        type(sender_id) is not int or not INT64_MIN <= sender_id <= INT64_MAX
    ):
        raise _wrong("sender_id", sender_id, "a 64-bit integer or null")
    if sender is not None and type(sender) is not str:
        raise _wrong("sender", sender, "a string or null")
    if chat is not None and type(chat) is not str:
        raise _wrong("chat", chat, "a string or null")
    if type(edit) is not bool:
        raise _wrong("edit", edit, "a boolean")
    return _new_entry(
        group, chat_id, message_id, date, text, matches, received_at, sender_id, sender, chat,
        edit,
    )  # fmt: skip


def _number(value: object, name: str) -> float:
    """A JSON number that is not a float already (an integer such as ``1764871234``)."""
    if type(value) is int:
        return float(value)
    raise _wrong(name, value, "a number")


def _matches(value: object) -> tuple[Match, ...]:
    if type(value) is not list:
        raise _wrong("matches", value, "an array")
    matches: list[Match] = []
    for index, item in enumerate(value):
        if type(item) is not dict:
            raise _wrong(f"matches.{index}", item, 'an object {"kind": …, "value": …}')
        get = item.get
        kind = get("kind", _MISSING)
        # The canonical string, so thousands of entries share the five kinds.
        canonical = _KINDS.get(kind) if type(kind) is str else None
        if canonical is None:
            raise _wrong(f"matches.{index}.kind", kind, f"one of {', '.join(MATCH_KINDS)}")
        match_value = get("value", _MISSING)
        if type(match_value) is not str:
            raise _wrong(f"matches.{index}.value", match_value, "a string")
        matches.append(_new_match(canonical, match_value))
    return tuple(matches)


def _wrong(name: str, value: object, expected: str) -> ContractError:
    """The dead-letter reason: which field, what it should be, and (briefly) what it was."""
    if value is _MISSING:
        return ContractError(f"schema: {name}: required field missing")
    shown = orjson.dumps(value).decode()
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return ContractError(f"schema: {name}: expected {expected}, got {shown}")


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
