from __future__ import annotations

import pytest

from telesniff.contract import Match
from telesniff.detect import DEFAULT_DETECTOR, base58, solana
from telesniff.detect.known import NOT_TOKENS_SOLANA

USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
BONK = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
FARTCOIN = "9BB6NFEcjBCtnNLFko2FqVQBq8HHM13kCyYcdQbgpump"  # a pump.fun mint
# 64 random bytes: the shape of a transaction signature.  Its first, middle and
# last 44 characters are each a valid address on their own.
SIGNATURE = (
    "64frBtvEnnPuEFZBgyjpdK9ZehmHCVzPR43MiHckVZ2iAxTrtwVDP85Pw16wUoHHfkbnYPxD18pjLwgd4RkkTWZ5"
)


def solana_values(text: str) -> list[str]:
    return [match.value for match in DEFAULT_DETECTOR.scan(text) if match.kind == "solana"]


@pytest.mark.parametrize("address", [USDC, BONK, FARTCOIN])
def test_well_known_mints_are_found(address: str) -> None:
    assert DEFAULT_DETECTOR.scan(f"new gem {address} lfg") == (Match("solana", address),)


def test_address_alone_and_at_the_edges_of_the_text() -> None:
    assert solana_values(USDC) == [USDC]
    assert solana_values(f"{USDC}\n{BONK}") == [USDC, BONK]


@pytest.mark.parametrize(
    "template",
    [
        "https://pump.fun/coin/{}",
        "https://dexscreener.com/solana/{}",
        "https://birdeye.so/token/{}?chain=solana",
        "https://birdeye.so/find?address={}&chain=solana",
        "CA_{}",
        "ca/{}",
        "CA:{}",
        "合约{}",
        "({})",
        "`{}`",
        "{}.",
    ],
)
def test_address_is_found_inside_links_and_after_separators(template: str) -> None:
    assert solana_values(template.format(FARTCOIN)) == [FARTCOIN]


def test_transaction_signature_yields_nothing() -> None:
    assert solana.is_address(SIGNATURE[:44])
    assert solana.is_address(SIGNATURE[-44:])
    assert DEFAULT_DETECTOR.scan(f"tx {SIGNATURE} confirmed") == ()
    assert DEFAULT_DETECTOR.scan(f"https://solscan.io/tx/{SIGNATURE}") == (
        Match("url", f"https://solscan.io/tx/{SIGNATURE}"),
    )


@pytest.mark.parametrize("glue", ["x", "0", "l", "O", "9"])
def test_address_glued_to_more_letters_or_digits_is_not_an_address(glue: str) -> None:
    assert solana_values(f"{glue}{USDC}") == []
    assert solana_values(f"{USDC}{glue}") == []


def test_wrong_length_after_decoding_is_rejected() -> None:
    too_big = "z" * 44  # 58**44 > 2**256: 33 bytes
    too_small = base58.encode(b"\x01" * 31)
    assert len(base58.decode(too_big)) == 33
    assert len(base58.decode(too_small)) == 31
    assert solana_values(f"{too_big} {too_small}") == []


def test_non_base58_lookalike_is_rejected() -> None:
    typo = USDC[:10] + "0" + USDC[11:]
    assert solana_values(typo) == []


@pytest.mark.parametrize("program", sorted(NOT_TOKENS_SOLANA))
def test_program_ids_and_wrapped_sol_are_not_tokens(program: str) -> None:
    assert solana.is_address(program)
    assert solana_values(f"program {program} invoked") == []


def test_named_program_ids_are_in_the_list() -> None:
    for program in (
        "11111111111111111111111111111111",
        "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
        "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb",
        "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL",
        "metaqbxxUerdq28cj1RbAWkYQm3ybzjb6a8bt518x1s",
        "So11111111111111111111111111111111111111112",
        "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4",
        "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8",
    ):
        assert program in NOT_TOKENS_SOLANA


def test_swap_link_reports_the_token_but_not_wrapped_sol() -> None:
    text = f"https://jup.ag/swap/So11111111111111111111111111111111111111112-{BONK}"
    assert solana_values(text) == [BONK]
