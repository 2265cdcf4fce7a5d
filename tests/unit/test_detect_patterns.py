from __future__ import annotations

import pytest

from telesniff.contract import Match
from telesniff.detect import MAX_MATCHES_PER_PATTERN, Detector


def test_pattern_reports_group_zero() -> None:
    detector = Detector(detectors=["regex"], patterns=[r"(\d+)x gain"])
    assert detector.scan("a 25x gain!") == (Match("regex", "25x gain"),)


def test_patterns_are_case_sensitive_unless_they_say_otherwise() -> None:
    assert Detector(detectors=["regex"], patterns=["launch"]).scan("LAUNCH") == ()
    assert Detector(detectors=["regex"], patterns=["(?i)launch"]).scan("LAUNCH") == (
        Match("regex", "LAUNCH"),
    )


def test_several_patterns_in_position_order() -> None:
    detector = Detector(detectors=["regex"], patterns=[r"\$[A-Z]{2,10}", r"\d+x"])
    assert detector.scan("10x on $WIF then $BONK") == (
        Match("regex", "10x"),
        Match("regex", "$WIF"),
        Match("regex", "$BONK"),
    )


def test_matches_per_pattern_are_capped() -> None:
    detector = Detector(detectors=["regex"], patterns=[r"\d+"])
    text = " ".join(str(number) for number in range(100))
    found = detector.scan(text)
    assert len(found) == MAX_MATCHES_PER_PATTERN
    assert found[0] == Match("regex", "0")


def test_empty_matches_are_skipped() -> None:
    detector = Detector(detectors=["regex"], patterns=[r"z*"])
    assert detector.scan("abc") == ()
    assert detector.scan("a zz b") == (Match("regex", "zz"),)


def test_invalid_pattern_is_rejected_with_the_pattern_named() -> None:
    with pytest.raises(ValueError, match=r"pattern '\(unclosed'"):
        Detector(patterns=["(unclosed"])
