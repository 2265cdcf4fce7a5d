from __future__ import annotations

import random

import pytest

from telesniff.detect import base58
from telesniff.detect.known import NOT_TOKENS_SOLANA

USDC_SOL = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


@pytest.mark.parametrize(
    ("text", "data"),
    [
        ("", b""),
        ("1", b"\0"),
        ("111", b"\0\0\0"),
        ("2g", b"a"),
        ("2NEpo7TZRRrLZSi2U", b"Hello World!"),
        # From Bitcoin Core's base58_encode_decode.json.
        ("11233QC4", bytes.fromhex("0000287fb4cd")),
        ("ABnLTmg", bytes.fromhex("516b6fcd0f")),
        ("EJDM8drfXA6uyA", bytes.fromhex("ecac89cad93923c02321")),
    ],
)
def test_decode_and_encode_known_vectors(text: str, data: bytes) -> None:
    assert base58.decode(text) == data
    assert base58.encode(data) == text


@pytest.mark.parametrize("char", ["0", "O", "I", "l", "+", "/"])
def test_decode_rejects_characters_outside_the_bitcoin_alphabet(char: str) -> None:
    with pytest.raises(ValueError, match="not a base58 character"):
        base58.decode("abc" + char)


def test_usdc_mint_is_32_bytes() -> None:
    assert len(base58.decode(USDC_SOL)) == 32
    assert base58.decodes_to_32_bytes(USDC_SOL)


def test_system_program_is_32_zero_bytes() -> None:
    assert base58.decode("1" * 32) == bytes(32)
    assert base58.decodes_to_32_bytes("1" * 32)
    assert not base58.decodes_to_32_bytes("1" * 31)
    assert not base58.decodes_to_32_bytes("1" * 33)


def test_fast_check_agrees_with_decoding_on_boundaries() -> None:
    # The smallest and largest 32-byte values for every count of leading zero bytes,
    # and one step past each: exactly where a comparison-based check could be off by one.
    for zeros in range(33):
        width = 32 - zeros
        low = b"\0" * zeros + (b"\x01" + b"\0" * (width - 1) if width else b"")
        high = b"\0" * zeros + b"\xff" * width
        for data in (low, high):
            text = base58.encode(data)
            assert base58.decodes_to_32_bytes(text), text
            for neighbour in (text + "1", "1" + text, text[:-1], text[1:]):
                expected = len(base58.decode(neighbour)) == 32
                assert base58.decodes_to_32_bytes(neighbour) is expected, neighbour


def test_fast_check_agrees_with_decoding_on_random_text() -> None:
    rng = random.Random(7)
    positives = 0
    for _ in range(20_000):
        length = rng.randint(28, 46)
        text = "1" * rng.choice([0, 0, 0, 1, 2]) + "".join(
            rng.choice(base58.ALPHABET) for _ in range(length)
        )
        expected = len(base58.decode(text)) == 32
        positives += expected
        assert base58.decodes_to_32_bytes(text) is expected, text
    assert positives > 1000  # the sample really exercises both answers


def test_fast_check_rejects_non_base58() -> None:
    assert not base58.decodes_to_32_bytes(USDC_SOL[:-1] + "0")
    assert not base58.decodes_to_32_bytes(USDC_SOL[:-1] + "l")


@pytest.mark.parametrize("address", sorted(NOT_TOKENS_SOLANA))
def test_every_listed_program_id_is_a_well_formed_address(address: str) -> None:
    # A typo in the list would silently never match anything.
    assert len(base58.decode(address)) == 32
