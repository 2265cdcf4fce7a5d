from __future__ import annotations

from typing import Any

import pytest

from telesniff.contract import Match
from telesniff.detect import DEFAULT_DETECTOR, Detector
from telesniff.groupspec import parse_spec

SOL = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
ETH = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
URL = f"https://pump.fun/coin/{SOL}"
TEXT = f"gem alert 🚀 {URL} and {ETH} 50x"


def spec(**fields: Any) -> Any:
    return parse_spec({"chats": ["@solcallers"], **fields})


def test_default_detector_finds_addresses_and_links_only() -> None:
    assert DEFAULT_DETECTOR.kinds == {"solana", "evm", "url"}
    assert DEFAULT_DETECTOR.scan(TEXT) == (
        Match("url", URL),
        Match("solana", SOL),
        Match("evm", ETH),
    )


def test_plain_chat_text_yields_nothing() -> None:
    assert DEFAULT_DETECTOR.scan("gm frens, who is watching the chart today? wagmi") == ()
    assert DEFAULT_DETECTOR.scan("") == ()


def test_from_spec_uses_keywords_patterns_and_all_detectors_by_default() -> None:
    detector = Detector.from_spec(spec(keywords=["gem alert"], patterns=[r"\d+x\b"]))
    assert detector.scan(TEXT) == (
        Match("keyword", "gem alert"),
        Match("url", URL),
        Match("solana", SOL),
        Match("evm", ETH),
        Match("regex", "50x"),
    )


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        (["solana"], [Match("solana", SOL)]),
        (["evm"], [Match("evm", ETH)]),
        (["url"], [Match("url", URL)]),
        (["keyword"], [Match("keyword", "gem alert")]),
        (["regex"], [Match("regex", "50x")]),
        (["evm", "regex"], [Match("evm", ETH), Match("regex", "50x")]),
        ([], []),
    ],
)
def test_only_the_listed_detectors_run(kinds: list[str], expected: list[Match]) -> None:
    detector = Detector.from_spec(
        spec(keywords=["gem alert"], patterns=[r"\d+x\b"], detectors=kinds)
    )
    assert list(detector.scan(TEXT)) == expected


def test_from_spec_uses_the_sender_filter() -> None:
    detector = Detector.from_spec(spec(senders={"allow": ["@caller"], "deny": [7]}))
    assert detector.accepts_sender(1, "caller")
    assert not detector.accepts_sender(7, "caller")
    assert not detector.accepts_sender(1, "other")


def test_duplicates_are_reported_once_at_their_first_position() -> None:
    text = f"{ETH} {SOL} {ETH.lower()} {SOL} gem GEM"
    detector = Detector(keywords=["gem"])
    assert detector.scan(text) == (
        Match("evm", ETH),
        Match("solana", SOL),
        Match("keyword", "gem"),
    )


def test_same_value_under_different_kinds_is_kept() -> None:
    detector = Detector(detectors=["solana", "regex"], patterns=[r"[1-9A-Za-z]{44}"])
    assert detector.scan(SOL) == (Match("solana", SOL), Match("regex", SOL))


def test_unknown_detector_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown detector"):
        Detector(detectors=["solana", "bitcoin"])  # type: ignore[list-item]


def test_scan_is_repeatable() -> None:
    # Compiled state must not leak between messages.
    detector = Detector(keywords=["ca", "ca drop"], patterns=[r"\d+"])
    first = detector.scan("ca drop 1 2 3")
    assert detector.scan("nothing here") == ()
    assert detector.scan("ca drop 1 2 3") == first
