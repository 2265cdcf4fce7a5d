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


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"nope", "not JSON"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (b'{"v": 2}', "unsupported schema version 2"),
        (b'{"group": "g"}', "unsupported schema version None"),
        (b'{"v": 1, "group": "g"}', "chat_id: Field required"),
        (
            b'{"v":1,"group":"g","chat_id":1,"message_id":2,"date":1,"text":"t",'
            b'"matches":[{"kind":"bogus","value":"x"}],"received_at":1}',
            "matches.0.kind",
        ),
    ],
)
def test_bad_entries_say_why(raw: bytes, reason: str) -> None:
    with pytest.raises(ContractError, match=reason.replace("[", r"\[")):
        contract.decode(raw)


def test_missing_field_names_what_was_there() -> None:
    with pytest.raises(ContractError, match=r"missing field 'e' \(fields: a, b\)"):
        contract.decode_fields({b"b": b"1", b"a": b"2"})


def test_view_is_what_clients_see() -> None:
    view = contract.to_view(entry(9, sender="dave"), "1-0")
    assert view["cursor"] == "1-0"
    assert view["sender"] == "dave"
    assert view["matches"] == [{"kind": "solana", "value": f"So1ana{9:038d}"}]
    assert "v" not in view
