from __future__ import annotations

from telesniff.detect import DEFAULT_DETECTOR, Detector


def test_no_filter_accepts_everyone() -> None:
    assert DEFAULT_DETECTOR.accepts_sender(1, "anyone")
    assert DEFAULT_DETECTOR.accepts_sender(None, None)


def test_allow_by_id_and_by_username_in_any_spelling() -> None:
    detector = Detector(allow=[42, "777", "@CallerOne", "callertwo"])
    assert detector.accepts_sender(42, None)
    assert detector.accepts_sender(777, None)
    assert detector.accepts_sender(None, "callerone")
    assert detector.accepts_sender(5, "CALLERTWO")
    assert detector.accepts_sender(5, "@CallerTwo")
    assert not detector.accepts_sender(5, "someoneelse")
    assert not detector.accepts_sender(43, None)


def test_allow_list_rejects_unknown_senders() -> None:
    assert not Detector(allow=["@caller"]).accepts_sender(None, None)


def test_deny_by_id_and_username() -> None:
    detector = Detector(deny=[13, "@SpamBot"])
    assert not detector.accepts_sender(13, "fine")
    assert not detector.accepts_sender(99, "spambot")
    assert detector.accepts_sender(99, "fine")
    assert detector.accepts_sender(None, None)


def test_deny_wins_over_allow() -> None:
    detector = Detector(allow=["@caller", 5], deny=["caller"])
    assert not detector.accepts_sender(5, "Caller")
    assert detector.accepts_sender(5, "other")
