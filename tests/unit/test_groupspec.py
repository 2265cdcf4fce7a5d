from __future__ import annotations

import re
from pathlib import Path

import pytest

from telesniff.groupspec import ChatRef, SpecError, load_group_file, parse_chat_ref, parse_spec


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("-1001234567890", ChatRef("id", "-1001234567890")),
        (12345, ChatRef("id", "12345")),
        ("@SolCallers", ChatRef("username", "solcallers")),
        ("https://t.me/SolCallers", ChatRef("username", "solcallers")),
        ("t.me/solcallers/123", ChatRef("username", "solcallers")),
        ("https://t.me/c/1234567890/55", ChatRef("id", "-1001234567890")),
        ("https://t.me/+AbCdEf123", ChatRef("invite", "AbCdEf123")),
        ("https://t.me/joinchat/AbCdEf123", ChatRef("invite", "AbCdEf123")),
    ],
)
def test_chat_references(reference: str | int, expected: ChatRef) -> None:
    assert parse_chat_ref(reference) == expected


@pytest.mark.parametrize("reference", ["@ab", "@1abcde", "https://example.com/x", "solcallers", ""])
def test_bad_chat_references_are_rejected_by_name(reference: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"chat {reference!r}")):
        parse_chat_ref(reference)


def test_spec_errors_name_the_field_and_the_fix() -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec({"chats": ["@ok_chat", "@x"], "patterns": ["(unclosed"], "detectors": ["nft"]})
    message = str(caught.value)
    assert "spec.chats: chat '@x'" in message
    assert "spec.patterns: pattern '(unclosed' is not a valid regular expression" in message
    assert "spec.detectors.0" in message


def test_unknown_keys_are_rejected() -> None:
    with pytest.raises(SpecError, match=r"spec\.keyword: Extra inputs are not permitted"):
        parse_spec({"chats": [1], "keyword": ["typo"]})


def test_camel_case_fields_and_secret_refs() -> None:
    spec = parse_spec(
        {
            "chats": ["@alpha_calls"],
            "nodeSelector": {"disk": "ssd"},
            "telegram": {
                "session": {"name": "tg", "key": "session"},
                "apiId": {"name": "tg", "key": "api_id"},
                "apiHash": {"name": "tg", "key": "api_hash"},
            },
        }
    )
    assert spec.node_selector == {"disk": "ssd"}
    assert spec.telegram is not None
    assert spec.telegram.api_hash.key == "api_hash"
    assert spec.detectors == ["solana", "evm", "url", "keyword", "regex"]


def test_group_file_takes_a_manifest_or_a_bare_spec(tmp_path: Path) -> None:
    manifest = tmp_path / "alpha.yaml"
    manifest.write_text(
        "apiVersion: telesniff.dev/v1alpha1\nkind: ChatGroup\nmetadata: {name: alpha}\n"
        "spec:\n  chats: ['@alpha_calls']\n  keywords: [launch]\n"
    )
    bare = tmp_path / "beta.yaml"
    bare.write_text("chats: [-1001]\n")
    assert load_group_file(manifest).name == "alpha"
    assert load_group_file(manifest).spec.keywords == ["launch"]
    assert load_group_file(bare).name == "beta"
    broken = tmp_path / "broken.yaml"
    broken.write_text("chats: [\n")
    with pytest.raises(SpecError, match=r"broken\.yaml: cannot read"):
        load_group_file(broken)
