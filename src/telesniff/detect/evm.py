"""EVM addresses: ``0x`` and 40 hex digits, with the EIP-55 mixed-case checksum."""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from Crypto.Hash import keccak

from telesniff.detect.known import NOT_TOKENS_EVM

_HEX: Final = frozenset("0123456789abcdefABCDEF")


def _keccak256_hex(data: bytes) -> str:
    # Ethereum's Keccak-256 predates the SHA-3 padding change, so hashlib.sha3_256 differs.
    return str(keccak.new(data=data, digest_bits=256).hexdigest())


def to_checksum(body: str) -> str:
    """EIP-55 form of 40 hex digits (without ``0x``), returned with ``0x``."""
    return _checksum_of_lower(body.lower())


# Keccak through pycryptodome costs several microseconds, and the same few tokens are
# posted over and over while they trend; the bound keeps memory flat.
@lru_cache(maxsize=4096)
def _checksum_of_lower(lower: str) -> str:
    digest = _keccak256_hex(lower.encode("ascii"))
    return "0x" + "".join(
        char.upper() if char > "9" and digest[index] > "7" else char
        for index, char in enumerate(lower)
    )


def token_address(text: str) -> str | None:
    """The checksummed address when ``text`` is a plausible token address, else None.

    All-lower and all-upper spellings carry no checksum and are accepted; a
    mixed-case spelling must match its checksum, because a mismatch means a
    typo or a tampered address.
    """
    if len(text) != 42 or not text.startswith("0x"):
        return None
    body = text[2:]
    if not _HEX.issuperset(body):
        return None
    if body.lower() in NOT_TOKENS_EVM:
        return None
    checksummed = to_checksum(body)
    if body == body.lower() or body == body.upper() or text == checksummed:
        return checksummed
    return None
