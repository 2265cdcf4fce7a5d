from __future__ import annotations

import pytest

from telesniff.contract import Match
from telesniff.detect import DEFAULT_DETECTOR, evm

USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
# The first Ethereum transaction; its first 40 hex digits alone would pass as an address.
TX_HASH = "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060"


def evm_values(text: str) -> list[str]:
    return [match.value for match in DEFAULT_DETECTOR.scan(text) if match.kind == "evm"]


@pytest.mark.parametrize(
    "address",
    [
        # The test vectors of EIP-55 itself.
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        USDC,
    ],
)
def test_checksum_matches_eip55(address: str) -> None:
    assert evm.to_checksum(address[2:].lower()) == address
    assert evm.to_checksum(address[2:].upper()) == address


def test_checksummed_usdc_is_found() -> None:
    assert DEFAULT_DETECTOR.scan(f"USDC on eth: {USDC}") == (Match("evm", USDC),)


def test_lowercase_and_uppercase_are_accepted_and_reported_checksummed() -> None:
    assert evm_values(USDC.lower()) == [USDC]
    assert evm_values("0x" + USDC[2:].upper()) == [USDC]


def test_wrong_checksum_is_rejected() -> None:
    wrong = USDC.replace("A0b8", "a0b8")
    assert wrong != USDC
    assert wrong.lower() != wrong
    assert evm_values(wrong) == []


def test_same_token_in_different_cases_is_reported_once() -> None:
    assert DEFAULT_DETECTOR.scan(f"{USDC.lower()} again {USDC}") == (Match("evm", USDC),)


def test_transaction_hash_yields_nothing() -> None:
    assert evm.token_address(TX_HASH[:42]) is not None
    assert evm_values(f"tx {TX_HASH} done") == []


@pytest.mark.parametrize(
    "text",
    [
        "0x" + "a0b86991c6218b36c1d19d4a2e9eb0ce3606eb4",  # 39 hex
        "0x" + "a0b86991c6218b36c1d19d4a2e9eb0ce3606eb480",  # 41 hex
        "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb4g",  # not hex
        "0Xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",  # not the 0x prefix
        "a0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",  # glued to a word
        "10xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
    ],
)
def test_lookalikes_are_rejected(text: str) -> None:
    assert evm_values(f"see {text} ok") == []


@pytest.mark.parametrize(
    "address",
    [
        "0x0000000000000000000000000000000000000000",
        "0x000000000000000000000000000000000000dEaD",
        "0x000000000000000000000000000000000000dead",
        "0xdead000000000000000000000000000000000000",
        "0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE",
    ],
)
def test_zero_and_burn_addresses_are_not_tokens(address: str) -> None:
    assert evm_values(address) == []


@pytest.mark.parametrize(
    "template",
    [
        "https://etherscan.io/token/{}",
        "https://app.uniswap.org/swap?outputCurrency={}",
        "https://dexscreener.com/base/{}",
        "CA_{}",
        "CA:{}.",
    ],
)
def test_address_inside_links_and_after_separators(template: str) -> None:
    assert evm_values(template.format(USDC.lower())) == [USDC]
