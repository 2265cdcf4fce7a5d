"""Decoding a read from the stream: good entries, dead letters, and the live payload."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from telesniff import contract
from telesniff.db.store import Stored

# A stream entry as read: its id and its fields, either as redis-py parses them (a dict)
# or as the server sends them (a flat ``[name, value, …]`` list, what the consumer's
# own read returns).  Deleted entries have no fields.
Fields = dict[bytes, bytes] | list[bytes]
StreamRecord = tuple[bytes, Fields]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    stream_id: str
    reason: str
    fields: dict[bytes, bytes]


@dataclass(slots=True)
class Decoded:
    stored: list[Stored] = field(default_factory=list)
    # (id, entry JSON) for the live channel
    raw: list[tuple[bytes, bytes]] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)


def decode_records(records: Sequence[StreamRecord]) -> Decoded:
    decoded = Decoded()
    name = contract.FIELD
    for record_id, fields in records:
        stream_id = record_id.decode()
        try:
            if type(fields) is list and len(fields) == 2 and fields[0] == name:
                raw = fields[1]  # the usual entry: exactly the one contract field
                entry = contract.decode(raw)
            else:
                fields = as_dict(fields)
                entry = contract.decode_fields(fields)
                raw = fields[name]
        except contract.ContractError as error:
            decoded.dead.append(DeadLetter(stream_id, str(error), as_dict(fields)))
            continue
        decoded.stored.append(Stored(stream_id, entry))
        decoded.raw.append((record_id, raw))
    return decoded


def as_dict(fields: Fields) -> dict[bytes, bytes]:
    if isinstance(fields, dict):
        return fields
    pairs = iter(fields or ())
    return dict(zip(pairs, pairs, strict=False))


def live_payload(raw: Sequence[tuple[bytes, bytes]]) -> bytes:
    """``[[id, entry], …]`` built from the bytes already in the stream: nothing re-serialised."""
    if not raw:
        return b"[]"
    parts = [b'["', b"", b'",', b"", b"],"] * len(raw)
    parts[1::5] = [record_id for record_id, _ in raw]
    parts[3::5] = [body for _, body in raw]
    parts[0], parts[-1] = b'[["', b"]]"
    # One copy of every entry: a single join (a concatenation would copy it all again).
    return b"".join(parts)
