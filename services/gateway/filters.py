"""Per-connection and per-request filters, parsed once and applied to each detection.

One parser serves REST and WebSocket so both read the same query the same way:
``group`` and ``kind`` take comma-separated lists, ``chat`` a chat id, ``sender`` a
numeric sender id or a username (``@`` optional, case-insensitive), ``q`` a
case-insensitive substring of the message text.
"""

from __future__ import annotations

from dataclasses import dataclass

from telesniff.contract import INT64_MAX, INT64_MIN, MATCH_KINDS


class FilterError(ValueError):
    """A query parameter that cannot be used; the message names it and says why."""


@dataclass(frozen=True, slots=True)
class Filter:
    groups: frozenset[str] | None = None
    chat_id: int | None = None
    sender_id: int | None = None
    sender: str | None = None  # lower-cased username without "@"
    kinds: frozenset[str] | None = None
    q: str | None = None  # case-folded

    @property
    def is_open(self) -> bool:
        """True when the filter admits everything."""
        return self == OPEN


OPEN = Filter()


def _names(raw: str | None, parameter: str) -> frozenset[str] | None:
    if raw is None:
        return None
    names = frozenset(part.strip() for part in raw.split(",") if part.strip())
    if not names:
        raise FilterError(f"{parameter}: empty value")
    return names


def parse_int(raw: str | None, parameter: str) -> int | None:
    """A 64-bit integer (what ids are in the database), or None when absent."""
    if raw is None:
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise FilterError(f"{parameter}: expected an integer, got {raw[:40]!r}") from None
    if not INT64_MIN <= value <= INT64_MAX:
        raise FilterError(f"{parameter}: out of range (a 64-bit integer), got {raw[:40]!r}")
    return value


def parse_filter(
    *,
    group: str | None = None,
    chat: str | None = None,
    sender: str | None = None,
    kind: str | None = None,
    q: str | None = None,
) -> Filter:
    kinds = _names(kind, "kind")
    if kinds is not None:
        unknown = sorted(kinds.difference(MATCH_KINDS))
        if unknown:
            raise FilterError(
                f"kind: unknown {', '.join(unknown)}; expected one of {', '.join(MATCH_KINDS)}"
            )
    sender_id: int | None = None
    username: str | None = None
    if sender is not None:
        value = sender.strip().removeprefix("@")
        if not value:
            raise FilterError("sender: empty value")
        if value.lstrip("-").isdigit():
            sender_id = parse_int(value, "sender")
        else:
            username = value.lower()
    text = q.casefold() if q else None
    if text is not None and len(text) > 200:
        raise FilterError("q: longer than 200 characters")
    return Filter(
        groups=_names(group, "group"),
        chat_id=parse_int(chat, "chat"),
        sender_id=sender_id,
        sender=username,
        kinds=kinds,
        q=text,
    )
