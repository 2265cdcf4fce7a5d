"""Decoding a read from the stream: good entries, dead letters, and the live payload."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from telesniff import contract
from telesniff.db.store import Stored

StreamRecord = tuple[bytes, dict[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    stream_id: str
    reason: str
    fields: dict[bytes, bytes]


@dataclass(slots=True)
class Decoded:
    stored: list[Stored] = field(default_factory=list)
    raw: list[tuple[bytes, bytes]] = field(default_factory=list)  # (id, entry JSON) for the live channel
    dead: list[DeadLetter] = field(default_factory=list)


def decode_records(records: Sequence[StreamRecord]) -> Decoded:
    decoded = Decoded()
    for record_id, fields in records:
        stream_id = record_id.decode()
        try:
            entry = contract.decode_fields(fields)
        except contract.ContractError as error:
            decoded.dead.append(DeadLetter(stream_id, str(error), fields))
            continue
        decoded.stored.append(Stored(stream_id, entry))
        decoded.raw.append((record_id, fields[contract.FIELD]))
    return decoded


def live_payload(raw: Sequence[tuple[bytes, bytes]]) -> bytes:
    """``[[id, entry], …]`` built from the bytes already in the stream: nothing re-serialised."""
    return b"[" + b",".join(b'["' + rid + b'",' + body + b"]" for rid, body in raw) + b"]"
