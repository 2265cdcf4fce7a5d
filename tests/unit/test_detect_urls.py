from __future__ import annotations

import pytest

from telesniff.contract import Match
from telesniff.detect import DEFAULT_DETECTOR, Detector
from telesniff.detect.urls import TOKEN_HOSTS

BONK = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
USDC_ETH = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
URLS_ONLY = Detector(detectors=["url"])


def url_values(text: str) -> list[str]:
    return [match.value for match in URLS_ONLY.scan(text)]


@pytest.mark.parametrize(
    "url",
    [
        f"https://pump.fun/coin/{BONK}",
        f"https://dexscreener.com/solana/{BONK}",
        f"https://birdeye.so/token/{BONK}?chain=solana",
        f"https://gmgn.ai/sol/token/{BONK}",
        f"https://jup.ag/swap/SOL-{BONK}",
        f"https://raydium.io/swap/?inputMint=sol&outputMint={BONK}",
        f"https://photon-sol.tinyastro.io/en/lp/{BONK}",
        f"https://neo.bullx.io/terminal?chainId=1399811149&address={BONK}",
        f"https://www.dextools.io/app/en/ether/pair-explorer/{USDC_ETH}",
        f"https://etherscan.io/token/{USDC_ETH}",
        f"https://basescan.org/token/{USDC_ETH}",
        f"https://bscscan.com/token/{USDC_ETH}",
        f"https://solscan.io/token/{BONK}",
        f"https://app.uniswap.org/swap?outputCurrency={USDC_ETH}",
        f"https://www.geckoterminal.com/solana/pools/{BONK}",
        f"http://dexscreener.com/solana/{BONK}",
        f"dexscreener.com/solana/{BONK}",
        f"HTTPS://DexScreener.com/solana/{BONK}",
        f"HtTp://WWW.PUMP.FUN/coin/{BONK}",
        f"App.Uniswap.ORG/swap?outputCurrency={USDC_ETH}",
    ],
)
def test_token_page_links_are_found_as_written(url: str) -> None:
    assert url_values(f"chart: {url} go") == [url]


def test_every_listed_host_is_recognised() -> None:
    for host in TOKEN_HOSTS:
        assert url_values(f"https://{host}/x/{BONK}") == [f"https://{host}/x/{BONK}"], host


@pytest.mark.parametrize("tail", [")", ".", ",", "!", "?", "...", ").", "!!", "*", '"'])
def test_trailing_punctuation_is_stripped(tail: str) -> None:
    url = f"https://pump.fun/coin/{BONK}"
    assert url_values(f"(see {url}{tail}") == [url]


def test_markdown_link() -> None:
    url = f"https://dexscreener.com/solana/{BONK}"
    assert url_values(f"[chart]({url})") == [url]


def test_url_and_the_address_inside_it_are_both_reported_in_order() -> None:
    url = f"https://dexscreener.com/solana/{BONK}"
    assert DEFAULT_DETECTOR.scan(f"look {url}") == (Match("url", url), Match("solana", BONK))
    eth = f"https://etherscan.io/token/{USDC_ETH.lower()}"
    assert DEFAULT_DETECTOR.scan(eth) == (Match("url", eth), Match("evm", USDC_ETH))


@pytest.mark.parametrize(
    "text",
    [
        "bought on pump.fun today",  # names the site, points at no token
        "https://pump.fun",
        "https://pump.fun/",
        "https://dexscreener.com/?",
        f"https://pump.fun.evil.example/coin/{BONK}",
        f"https://notpump.fun/coin/{BONK}",
        f"https://evil-dexscreener.com/solana/{BONK}",
        f"https://example.com/pump.fun/coin/{BONK}",
        f"user@pump.fun/coin/{BONK}",
        "https://t.me/maestro?start=abc",  # trading bots are out of scope
        "https://x.com/pumpdotfun/status/1",
    ],
)
def test_lookalikes_and_other_links_are_not_token_pages(text: str) -> None:
    assert url_values(text) == []


def test_link_ends_at_non_ascii_text() -> None:
    url = f"https://pump.fun/coin/{BONK}"
    assert url_values(f"{url}冲冲冲") == [url]


def test_two_links_in_order_and_duplicates_once() -> None:
    first = f"https://pump.fun/coin/{BONK}"
    second = f"https://gmgn.ai/sol/token/{BONK}"
    assert url_values(f"{second} {first} {second}") == [second, first]
