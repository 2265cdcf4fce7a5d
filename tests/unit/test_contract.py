from __future__ import annotations

import orjson
import pytest

from telesniff import contract
from telesniff.contract import ContractError, Match
from tests.factories import entry


def test_round_trip_keeps_every_field() -> None:
    original = entry(5, edit=True, matches=(Match("evm", "0xabc"), Match("keyword", "ca")))
    decoded = contract.decode(contract.encode(original))
    assert decoded == original
    assert orjson.loads(contract.encode(original))["v"] == contract.SCHEMA_VERSION


_GOOD = {
    "v": 1, "group": "g", "chat_id": -1001, "message_id": 2, "date": 1.5, "text": "t",
    "matches": [{"kind": "url", "value": "x"}], "received_at": 2.5,
}  # fmt: skip


_GOOD_RAW = orjson.dumps(_GOOD)


def _with(**changes: object) -> bytes:
    document = {**_GOOD, **changes}
    return orjson.dumps({name: value for name, value in document.items() if value != "DROP"})


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"nope", "not JSON"),
        (b"[1, 2]", "^schema: expected `object`, got `array`$"),
        (b'{"v": 2}', "^unsupported schema version 2, expected 1$"),
        (b'{"v": true, "group": "g"}', "unsupported schema version true"),
        (b'{"v": 1.0, "group": "g"}', "unsupported schema version 1.0"),
        (b'{"v": 123456789012345678901234567890}', "unsupported schema version 12345678901234"),
        # The schema fails first, then the JSON: still a ContractError, saying so.
        (b'{"v": 1, "chat_id": "x", "text": "\\ud800"}', "^not JSON: "),
        (b'{"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "^not JSON: nested too deeply$"),
        (b'{"v": 1, "chat_id": "x", "y": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
         "^not JSON: nested too deeply$"),
        (_with(v="x" * 100), 'unsupported schema version "x+\\.\\.\\., expected 1$'),
        (b'{"v": 1, "group": "g", "chat_id": 1}', "^schema: message_id: required field missing$"),
        (b'{"group": "g"}', "^schema: chat_id: required field missing$"),
        (_with(text="DROP"), "schema: text: required field missing"),
        (_with(group=None), "schema: group: expected `str`, got `null`"),
        (_with(chat_id="5"), "schema: chat_id: expected `int`, got `str`"),
        (_with(chat_id=True), "schema: chat_id: expected `int`, got `bool`"),
        (_with(message_id=5.0), "schema: message_id: expected `int`, got `float`"),
        (b'{"v": 1, "group": "g", "chat_id": 9223372036854775808}',
         "schema: chat_id: expected `int` <= 9223372036854775807"),
        (b'{"v": 1, "group": "g", "chat_id": -9223372036854775809}',
         "schema: chat_id: expected `int` >= -9223372036854775808"),
        (_with(date="1.5"), "schema: date: expected `float`, got `str`"),
        (_with(received_at=False), "schema: received_at: expected `float`, got `bool`"),
        (_with(text=5), "schema: text: expected `str`, got `int`"),
        (_with(sender_id="7"), "schema: sender_id: expected `int | null`, got `str`"),
        (_with(sender=7), "schema: sender: expected `str | null`, got `int`"),
        (_with(chat=["c"]), "schema: chat: expected `str | null`, got `array`"),
        (_with(edit=1), "schema: edit: expected `bool`, got `int`"),
        (_with(edit=None), "schema: edit: expected `bool`, got `null`"),
        (_with(matches={"kind": "url"}), "schema: matches: expected `array`, got `object`"),
        (_with(matches=[["url", "x"]]), "schema: matches.0: expected `object`, got `array`"),
        (_with(matches=[{"kind": "url", "value": "x"}, {"kind": "bogus", "value": "x"}]),
         "matches.1.kind: invalid enum value 'bogus', expected one of solana, evm, url, keyword"),
        (_with(matches=[{"kind": ["url"], "value": "x"}]), "matches.0.kind: expected `str`"),
        (_with(matches=[{"value": "x"}]), "matches.0.kind: required field missing"),
        (_with(matches=[{"kind": "evm", "value": None}]), "matches.0.value: expected `str`"),
    ],
)  # fmt: skip
def test_bad_entries_say_why(raw: bytes, reason: str) -> None:
    with pytest.raises(ContractError, match=reason):
        contract.decode(raw)


def test_what_the_schema_allows() -> None:
    """Integers for floats, nulls and absence for the optional fields, unknown keys ignored;
    an entry without ``v`` is taken as version 1 (only a different version is refused)."""
    decoded = contract.decode(_with(date=1, received_at=2, future="ignored"))
    assert (decoded.date, decoded.received_at) == (1.0, 2.0)
    assert type(decoded.date) is float
    assert (decoded.sender_id, decoded.sender, decoded.chat, decoded.edit) == (
        None,
        None,
        None,
        False,
    )
    assert decoded.matches == (Match("url", "x"),)
    assert contract.decode(_with(matches=[])).matches == ()
    explicit = contract.decode(_with(sender_id=None, sender=None, chat=None, edit=True))
    assert (explicit.sender_id, explicit.edit) == (None, True)
    assert contract.decode(_with(v="DROP")) == contract.decode(_GOOD_RAW)
    extremes = contract.decode(_with(chat_id=-(2**63), message_id=2**63 - 1))
    assert (extremes.chat_id, extremes.message_id) == (-(2**63), 2**63 - 1)


def test_decoded_entries_equal_the_ones_built_in_code() -> None:
    """Decoded in C, yet equal, hashable and frozen like the ones built in code."""
    original = entry(3, matches=(Match("solana", "So1"), Match("regex", "r")))
    decoded = contract.decode(contract.encode(original))
    assert decoded == original
    assert hash(decoded) == hash(original)
    assert repr(decoded) == repr(original)
    with pytest.raises(AttributeError):
        decoded.text = "changed"  # type: ignore[misc]


def test_missing_field_names_what_was_there() -> None:
    with pytest.raises(ContractError, match=r"missing field 'e' \(fields: a, b\)"):
        contract.decode_fields({b"b": b"1", b"a": b"2"})


def test_view_is_what_clients_see() -> None:
    view = contract.to_view(entry(9, sender="dave"), "1-0")
    assert view["cursor"] == "1-0"
    assert view["sender"] == "dave"
    assert view["matches"] == [{"kind": "solana", "value": f"So1ana{9:038d}"}]
    assert "v" not in view
