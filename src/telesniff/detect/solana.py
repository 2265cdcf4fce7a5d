"""Solana addresses: base58 text that decodes to exactly 32 bytes."""

from __future__ import annotations

from telesniff.detect.base58 import decodes_to_32_bytes
from telesniff.detect.known import NOT_TOKENS_SOLANA

MIN_LENGTH = 32  # 32 bytes with every byte zero: thirty-two '1's
MAX_LENGTH = 44


def is_address(text: str) -> bool:
    """True when ``text`` is a well-formed Solana public key (any account)."""
    return MIN_LENGTH <= len(text) <= MAX_LENGTH and decodes_to_32_bytes(text)


def is_token_candidate(text: str) -> bool:
    """True for an address that may be a token mint (not a known program id)."""
    return is_address(text) and text not in NOT_TOKENS_SOLANA
