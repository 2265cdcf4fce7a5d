from __future__ import annotations

from telesniff.contract import Match
from telesniff.detect import Detector


def keywords(words: list[str], text: str) -> list[str]:
    detector = Detector(detectors=["keyword"], keywords=words)
    return [match.value for match in detector.scan(text)]


def test_case_insensitive_and_reported_as_configured() -> None:
    assert keywords(["Stealth Launch"], "STEALTH launch in 5") == ["Stealth Launch"]
    assert keywords(["ca"], "CA incoming") == ["ca"]


def test_whole_word_only() -> None:
    assert keywords(["ca"], "my cat ate a cactus in Africa") == []
    assert keywords(["ca"], "ca?") == ["ca"]
    assert keywords(["moon"], "moonshot and honeymoon") == []
    assert keywords(["x100"], "x1000 x100!") == ["x100"]


def test_punctuation_and_underscore_are_separators() -> None:
    assert keywords(["ca"], "CA: soon") == ["ca"]
    assert keywords(["ca"], "CA_EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v") == ["ca"]
    assert keywords(["ca"], "#ca") == ["ca"]


def test_non_ascii_letters_still_join_words() -> None:
    assert keywords(["ca"], "caé") == []
    assert keywords(["рост"], "ростом") == []
    assert keywords(["рост"], "\u0420\u041e\u0421\u0422!") == ["рост"]  # upper-case Cyrillic


def test_cjk_has_no_word_boundaries() -> None:
    assert keywords(["合约"], "合约地址在这里") == ["合约"]
    assert keywords(["ca"], "合约CA\uff1axxx") == ["ca"]  # full-width colon


def test_multi_word_keywords_allow_any_whitespace() -> None:
    assert keywords(["to the moon"], "going TO  THE\nmoon") == ["to the moon"]
    assert keywords(["to the moon"], "to themoon") == []


def test_keywords_with_symbols() -> None:
    assert keywords(["$PEPE"], "buy $pepe now") == ["$PEPE"]
    assert keywords(["$PEPE"], "$PEPEX") == []
    assert keywords(["wen moon!"], "wen moon!!") == ["wen moon!"]


def test_overlapping_keywords_are_all_reported_in_order() -> None:
    assert keywords(["moon", "to the moon", "ca", "ca drop"], "CA drop then to the moon") == [
        "ca drop",
        "ca",
        "to the moon",
        "moon",
    ]


def test_longest_keyword_failing_its_boundary_falls_back_to_shorter() -> None:
    assert keywords(["ca", "cat"], "cats ca") == ["ca"]
    assert keywords(["ca", "ca drop"], "ca dropped") == ["ca"]


def test_duplicate_and_blank_keywords() -> None:
    assert keywords(["gem", "GEM", "  "], "gem") == ["gem"]
    assert keywords(["   "], "anything") == []


def test_each_keyword_once_at_its_first_position() -> None:
    detector = Detector(detectors=["keyword"], keywords=["gem"])
    assert detector.scan("gem gem GEM") == (Match("keyword", "gem"),)


def test_many_keywords() -> None:
    words = [f"token{number}" for number in range(1000)]
    assert keywords(words, "buy token999 and token10 not token1000x") == ["token999", "token10"]


def test_keywords_that_nest_deeply_still_work() -> None:
    chain = [" ".join(["a"] * length) for length in range(1, 400)]
    assert keywords(chain, "x a a y") == ["a a", "a"]


def test_regex_metacharacters_in_keywords_are_literal() -> None:
    assert keywords(["1.5x"], "1.5x gain, 125x no") == ["1.5x"]
    assert keywords(["(ca)"], "the (CA) is") == ["(ca)"]
