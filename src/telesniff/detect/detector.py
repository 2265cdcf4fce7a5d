"""The detector a listener compiles once per ChatGroup and runs on every message."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from telesniff.contract import MATCH_KINDS, Match, MatchKind
from telesniff.detect import addresses, urls
from telesniff.detect.keywords import KeywordMatcher
from telesniff.detect.senders import SenderFilter
from telesniff.groupspec import GroupSpec

# A user pattern such as ``\w`` could otherwise turn one message into thousands of matches.
MAX_MATCHES_PER_PATTERN: Final = 20

# Tie-break for matches that start at the same position.
_URL, _ADDRESS, _KEYWORD, _REGEX = 0, 1, 2, 3
_EMPTY: Final[tuple[Match, ...]] = ()


def _position(item: tuple[int, int, Match]) -> tuple[int, int]:
    return item[0], item[1]


class Detector:
    """Everything one ChatGroup looks for, compiled once.

    ``scan`` is on the hot path: a message with no candidates costs a few
    regex passes that fail fast and nothing else.
    """

    __slots__ = ("_evm", "_keywords", "_patterns", "_senders", "_solana", "_urls", "kinds")

    def __init__(
        self,
        *,
        detectors: Iterable[MatchKind] = MATCH_KINDS,
        keywords: Iterable[str] = (),
        patterns: Iterable[str] = (),
        allow: Iterable[str | int] = (),
        deny: Iterable[str | int] = (),
    ) -> None:
        """Raise ValueError for an unknown detector kind or a pattern that does not compile."""
        kinds = frozenset(detectors)
        unknown = kinds.difference(MATCH_KINDS)
        if unknown:
            raise ValueError(
                f"unknown detector(s) {', '.join(sorted(unknown))}; "
                f"expected some of {', '.join(MATCH_KINDS)}"
            )
        self.kinds: frozenset[MatchKind] = kinds
        self._solana = "solana" in kinds
        self._evm = "evm" in kinds
        self._urls = "url" in kinds
        self._keywords = KeywordMatcher(list(keywords) if "keyword" in kinds else [])
        compiled: list[re.Pattern[str]] = []
        if "regex" in kinds:
            for pattern in patterns:
                try:
                    compiled.append(re.compile(pattern))
                except re.error as error:
                    raise ValueError(
                        f"pattern {pattern!r} is not a valid regular expression: {error}"
                    ) from None
        self._patterns = tuple(compiled)
        self._senders = SenderFilter(allow, deny)

    @classmethod
    def from_spec(cls, spec: GroupSpec) -> Detector:
        return cls(
            detectors=spec.detectors,
            keywords=spec.keywords,
            patterns=spec.patterns,
            allow=spec.senders.allow,
            deny=spec.senders.deny,
        )

    def scan(self, text: str) -> tuple[Match, ...]:
        """Matches in order of position, each ``(kind, value)`` once."""
        found: list[tuple[int, int, Match]] = []
        if self._solana or self._evm:
            addresses.find(
                text, found, want_solana=self._solana, want_evm=self._evm, order=_ADDRESS
            )
        if self._urls:
            urls.find(text, found, order=_URL)
        if self._keywords:
            self._keywords.find(text, found, order=_KEYWORD)
        for pattern in self._patterns:
            _find_pattern(pattern, text, found)
        if not found:
            return _EMPTY
        found.sort(key=_position)
        # dict keeps first-seen order, which after the sort is the first position.
        return tuple(dict.fromkeys(match for _, _, match in found))

    def accepts_sender(self, sender_id: int | None, username: str | None) -> bool:
        """Whether a message from this sender should be scanned at all."""
        return self._senders.accepts(sender_id, username)


def _find_pattern(pattern: re.Pattern[str], text: str, found: list[tuple[int, int, Match]]) -> None:
    count = 0
    for hit in pattern.finditer(text):
        value = hit.group()
        if not value:
            continue
        found.append((hit.start(), _REGEX, Match("regex", value)))
        count += 1
        if count == MAX_MATCHES_PER_PATTERN:
            return


DEFAULT_DETECTOR: Final = Detector(detectors=("solana", "evm", "url"))
