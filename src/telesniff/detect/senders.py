"""Sender filters: ``allow`` (when non-empty, only these) minus ``deny``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

_NUMERIC: Final = re.compile(r"-?\d+")


def _split(entries: Iterable[str | int]) -> tuple[frozenset[int], frozenset[str]]:
    ids: set[int] = set()
    names: set[str] = set()
    for entry in entries:
        if isinstance(entry, int):
            ids.add(entry)
            continue
        text = entry.strip()
        # YAML and CLI users write ids as strings as often as numbers.
        if _NUMERIC.fullmatch(text):
            ids.add(int(text))
        elif text.removeprefix("@"):
            names.add(text.removeprefix("@").lower())
    return frozenset(ids), frozenset(names)


class SenderFilter:
    __slots__ = ("_allow_ids", "_allow_names", "_deny_ids", "_deny_names", "_open")

    def __init__(self, allow: Iterable[str | int] = (), deny: Iterable[str | int] = ()) -> None:
        self._allow_ids, self._allow_names = _split(allow)
        self._deny_ids, self._deny_names = _split(deny)
        self._open = not (self._allow_ids or self._allow_names)

    def accepts(self, sender_id: int | None, username: str | None) -> bool:
        name = username.removeprefix("@").lower() if username else None
        if sender_id is not None and sender_id in self._deny_ids:
            return False
        if name is not None and name in self._deny_names:
            return False
        if self._open:
            return True
        return (sender_id is not None and sender_id in self._allow_ids) or (
            name is not None and name in self._allow_names
        )
