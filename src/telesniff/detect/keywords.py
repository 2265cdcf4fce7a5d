"""Keywords: case-insensitive, whole-word-ish, all compiled into one regex.

"Whole-word-ish": a keyword that begins (ends) with a letter or digit must not
have a letter or digit right before (after) it, so ``ca`` does not fire inside
``cat``.  Underscore counts as a separator (``CA_<address>``), and CJK
characters never form word boundaries: Chinese and Japanese put no spaces
between words, so ``合约`` must match inside ``合约地址`` and ``CA`` inside ``合约CA``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from telesniff.contract import Match

# Scripts written without spaces between words.
_CJK: Final = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
# A letter or digit that makes a word continue: not underscore, not CJK.
_WORDISH: Final = rf"[^\W_{_CJK}]"
_WORDISH_CHAR: Final = re.compile(_WORDISH)
# The exact start boundary appears once in the combined regex.  Compiling a class
# with big Unicode ranges costs milliseconds, so the end boundary, needed at every
# keyword's end, is only approximated in the regex (no ASCII letter or digit
# follows) and checked exactly in Python on the few hits.
_BEFORE: Final = f"(?<!{_WORDISH})"
_AFTER_ASCII: Final = r"(?a:(?![^\W_]))"
_FLAGS: Final = re.IGNORECASE
# Up to this many keywords, plain substring tests on the lower-cased text (C speed,
# ~0.1 us each) rule out most messages before the regex runs; beyond it the tests
# would cost more than the trie-shaped regex they are meant to save.
PREFILTER_LIMIT: Final = 32


def normalize(keyword: str) -> str:
    """The form keywords are compared in: lower case, single spaces."""
    return " ".join(keyword.split()).lower()


def _token(char: str) -> str:
    # Any run of whitespace (including a line break) matches a space in a keyword.
    return r"\s+" if char == " " else re.escape(char)


def _wordish(char: str) -> bool:
    return _WORDISH_CHAR.match(char) is not None


def _body(key: str) -> str:
    return "".join(_token(char) for char in key) + (_AFTER_ASCII if _wordish(key[-1]) else "")


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    terminal: bool = False


def _trie(keys: list[str]) -> _Node:
    root = _Node()
    for key in keys:
        node = root
        for char in key:
            node = node.children.setdefault(char, _Node())
        node.terminal = True
    return root


def _trie_alternation(node: _Node) -> str:
    """The keys below ``node`` as one alternation shaped like the trie.

    Python's regex engine tries alternatives one by one, so a flat
    ``a|b|c|...`` of a thousand keywords costs a thousand comparisons at
    every word start; sharing prefixes makes it a handful.  Longer keys are
    tried first at each node, so the longest keyword starting at a position wins.
    """
    return _group([_token(char) + _branch(child, char) for char, child in node.children.items()])


def _branch(node: _Node, last: str) -> str:
    prefix = ""
    # Follow unbranched chains in a loop so only real branch points nest.
    while len(node.children) == 1 and not node.terminal:
        ((last, node),) = node.children.items()
        prefix += _token(last)
    alternatives = [_token(char) + _branch(child, char) for char, child in node.children.items()]
    if node.terminal:
        alternatives.append(_AFTER_ASCII if _wordish(last) else "")
    return prefix + (_group(alternatives) if alternatives else "")


def _group(alternatives: list[str]) -> str:
    if len(alternatives) == 1:
        return alternatives[0]
    return "(?:" + "|".join(alternatives) + ")"


def _combined(keys: list[str]) -> re.Pattern[str]:
    wordish = [key for key in keys if _wordish(key[0])]
    other = [key for key in keys if not _wordish(key[0])]
    try:
        parts = [_trie_alternation(_trie(group)) if group else "" for group in (wordish, other)]
        return _compile(*parts)
    except RecursionError:
        # Hundreds of keys each a prefix of the next nest too deep for the regex
        # compiler; a flat alternation, longest first, is slower but works.
        parts = [
            "|".join(_body(key) for key in sorted(group, key=len, reverse=True))
            for group in (wordish, other)
        ]
        return _compile(*parts)


def _compile(wordish: str, other: str) -> re.Pattern[str]:
    alternatives = ([f"{_BEFORE}(?:{wordish})"] if wordish else []) + ([other] if other else [])
    # A zero-width match lets finditer try every position, so a keyword inside
    # another one ("moon" in "to the moon") is found as well.
    return re.compile(f"(?=({'|'.join(alternatives)}))", _FLAGS)


class KeywordMatcher:
    """Finds configured keywords; reports each as configured, not as written."""

    __slots__ = ("_bodies", "_by_key", "_needles", "_regex", "_shorter")

    def __init__(self, keywords: list[str]) -> None:
        self._by_key: dict[str, str] = {}
        for keyword in keywords:
            key = normalize(keyword)
            if key and key not in self._by_key:
                self._by_key[key] = keyword
        keys = list(self._by_key)
        # At one position the regex reports only the longest keyword; these are the
        # shorter keywords that can start at the same place ("ca" under "ca drop").
        root = _trie(keys)
        self._shorter = {key: [key[:end] for end in _prefix_ends(root, key)] for key in keys}
        # Compiled on first use; at most one per configured keyword.
        self._bodies: dict[str, re.Pattern[str]] = {}
        # Each keyword's longest space-free piece: it must appear if the keyword does.
        self._needles: tuple[str, ...] | None = (
            tuple({max(key.split(" "), key=len) for key in keys})
            if len(keys) <= PREFILTER_LIMIT
            else None
        )
        self._regex = _combined(keys) if keys else None

    def __bool__(self) -> bool:
        return self._regex is not None

    def find(self, text: str, found: list[tuple[int, int, Match]], *, order: int) -> None:
        """Append ``(position, order, match)`` for each keyword in ``text``."""
        if self._regex is None:
            return
        if self._needles is not None:
            lowered = text.lower()
            for needle in self._needles:
                if needle in lowered:
                    break
            else:
                return
        for hit in self._regex.finditer(text):
            start = hit.start()
            key = self._key_of(hit.group(1))
            if key is None:
                continue
            if _ends_word(key, text, hit.end(1)):
                found.append((start, order, Match("keyword", self._by_key[key])))
            for shorter in self._shorter[key]:
                matched = self._compiled(shorter).match(text, start)
                if matched is not None and _ends_word(shorter, text, matched.end()):
                    found.append((start, order, Match("keyword", self._by_key[shorter])))

    def _compiled(self, key: str) -> re.Pattern[str]:
        pattern = self._bodies.get(key)
        if pattern is None:
            pattern = self._bodies[key] = re.compile(_body(key), _FLAGS)
        return pattern

    def _key_of(self, written: str) -> str | None:
        key = normalize(written)
        if key in self._by_key:
            return key
        # Case folding the regex engine applies but str.lower() does not (rare scripts).
        for candidate in self._by_key:
            if self._compiled(candidate).fullmatch(written):
                return candidate
        return None


def _ends_word(key: str, text: str, end: int) -> bool:
    """The exact end boundary the regex only approximates."""
    return not (_wordish(key[-1]) and _WORDISH_CHAR.match(text, end))


def _prefix_ends(root: _Node, key: str) -> list[int]:
    """Lengths at which a proper prefix of ``key`` is itself a key."""
    ends: list[int] = []
    node = root
    for end, char in enumerate(key[:-1], start=1):
        node = node.children[char]
        if node.terminal:
            ends.append(end)
    return ends
