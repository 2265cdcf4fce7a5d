"""Base58 with the Bitcoin alphabet, the encoding of Solana public keys.

Written here rather than pulled in as a dependency: it is a few lines, and
the hot path only needs to know whether a candidate decodes to 32 bytes,
which ``decodes_to`` answers without decoding.
"""

from __future__ import annotations

import re
from typing import Final

ALPHABET: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_VALUES: Final[dict[str, int]] = {char: value for value, char in enumerate(ALPHABET)}
_BASE58: Final = re.compile(f"[{ALPHABET}]*")


def decode(text: str) -> bytes:
    """Decode base58 text; raise ValueError on a character outside the alphabet.

    Each leading ``1`` stands for one zero byte; the rest is a big-endian
    number without leading zero bytes.
    """
    number = 0
    for char in text:
        value = _VALUES.get(char)
        if value is None:
            raise ValueError(f"{char!r} is not a base58 character")
        number = number * 58 + value
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")


def encode(data: bytes) -> str:
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    digits: list[str] = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(ALPHABET[remainder])
    return "1" * zeros + "".join(reversed(digits))


def _digits(number: int) -> str:
    return encode(number.to_bytes((number.bit_length() + 7) // 8, "big")) if number else ""


def _bounds(size: int) -> tuple[tuple[tuple[int, str], tuple[int, str]], ...]:
    # Index m: the smallest and largest digit strings of an m-byte number with a
    # non-zero first byte, as (length, digits) so tuples compare like the numbers.
    bounds = [((0, ""), (0, ""))]
    for width in range(1, size + 1):
        low, high = _digits(256 ** (width - 1)), _digits(256**width - 1)
        bounds.append(((len(low), low), (len(high), high)))
    return tuple(bounds)


_SIZE: Final = 32
_BOUNDS: Final = _bounds(_SIZE)


def decodes_to_32_bytes(text: str) -> bool:
    """Whether ``text`` is base58 that decodes to exactly 32 bytes.

    The alphabet is in ASCII order, so digit strings of equal length compare
    as strings exactly as their numbers do; checking the length against
    precomputed bounds replaces a 44-step big-number loop with a few C-level
    comparisons.
    """
    if not _BASE58.fullmatch(text):
        return False
    digits = text.lstrip("1")
    width = _SIZE - (len(text) - len(digits))
    if width < 0:
        return False
    low, high = _BOUNDS[width]
    return low <= (len(digits), digits) <= high
