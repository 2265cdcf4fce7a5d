"""Replaying Telegram Desktop exports through the live detection and stream path."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
from typer.testing import CliRunner

from telesniff import keys
from telesniff.cli import replay as replay_command  # noqa: F401  (registers `replay`)
from telesniff.cli.app import app
from telesniff.groupspec import GroupSpec
from telesniff.listener.export import ExportError, load_export, parse_export
from telesniff.listener.replay import ReplaySource, replay
from telesniff.settings import Settings
from tests.listener.harness import EVM, SOLANA, FakeClock, stream_entries

EXPORTS = Path(__file__).parent.parent / "fixtures" / "exports"
CHANNEL = -1001700000001
DEXSCREENER = f"https://dexscreener.com/ethereum/{EVM}"
PUMP = f"https://pump.fun/coin/{SOLANA}"


def test_channel_export_parses_text_forms_links_buttons_and_skips_service() -> None:
    export = load_export(EXPORTS / "channel_result.json")
    (chat,) = export.chats
    assert (chat.name, chat.chat_id) == ("Alpha Calls", CHANNEL)
    assert chat.skipped == {"service": 2}
    by_id = {m.message_id: m for m in chat.messages}
    assert sorted(by_id) == [2, 3, 4, 5, 6, 7, 8]
    # Entity arrays become their visible text; a text link's hidden target is appended.
    assert by_id[4].text == f"ETH gem — chart looks clean\n{DEXSCREENER}"
    assert by_id[8].text == f"tap to buy\n{PUMP}"  # a URL button
    assert by_id[5].date == 1709283840.0  # an edited message: once, final text, posted at
    assert by_id[5].edit is False
    assert by_id[6].text.startswith("whale bought")  # forwarded: the forwarded text
    assert by_id[7].text == ""  # media without caption: handled, nothing to find
    assert by_id[2].sender_id == CHANNEL  # from_id channel… is the channel's marked id
    assert all(m.chat == "Alpha Calls" and m.chat_id == CHANNEL for m in chat.messages)


def test_legacy_export_string_or_array_text_and_local_dates() -> None:
    export = load_export(EXPORTS / "group_legacy_result.json")
    (chat,) = export.chats
    assert chat.chat_id == -4242  # a basic group
    assert chat.skipped == {"unsupported": 1}
    first, second = chat.messages
    assert first.text == f"aping {SOLANA} now"
    assert first.sender_id == 5100004
    assert first.date == datetime.fromisoformat("2020-06-01T12:00:00").timestamp()
    assert second.text == "stealth launch tonight"


def test_whole_account_export() -> None:
    export = load_export(EXPORTS / "account_result.json")
    assert [(c.name, c.chat_id) for c in export.chats] == [
        ("Gem Hunters", -1001700000003), ("Saved Messages", 900000001),
    ]  # fmt: skip
    assert export.message_count == 1


def test_malformed_exports_name_what_and_where() -> None:
    with pytest.raises(ExportError) as raised:
        load_export(EXPORTS / "malformed_result.json")
    message = str(raised.value)
    assert message.startswith(f"{EXPORTS / 'malformed_result.json'}: 4 problem(s):")
    assert "export.messages[1].id: expected a positive integer, got None" in message
    assert "export.messages[2] (id 3).text: expected a string or an array, got int" in message
    assert "export.messages[2] (id 3).from_id: expected user<N>, channel<N> or chat<N>" in message
    assert "(id 3).date_unixtime: expected a string of digits, got 'yesterday'" in message

    with pytest.raises(ExportError, match=r"truncated_result.json: not valid JSON: .*line 9"):
        load_export(EXPORTS / "truncated_result.json")
    with pytest.raises(ExportError, match="not a Telegram Desktop export"):
        parse_export([1, 2, 3])
    with pytest.raises(ExportError, match="cannot read"):
        load_export(EXPORTS / "missing.json")


async def test_replay_goes_through_detection_into_the_stream(redis: aioredis.Redis) -> None:
    export = load_export(EXPORTS / "channel_result.json")
    settings = Settings()
    source = ReplaySource(list(export.messages))
    result = await replay(redis, settings, "replayed", GroupSpec(chats=[CHANNEL]), source)

    entries = await stream_entries(redis, settings.stream)
    assert [e.message_id for e in entries] == [3, 4, 5, 6, 8]
    assert (result.messages, result.appended) == (7, 5)
    matched = {e.message_id: {(m.kind, m.value) for m in e.matches} for e in entries}
    assert matched[4] == {("url", DEXSCREENER), ("evm", EVM)}  # only in the hidden link
    assert ("url", PUMP) in matched[8]
    assert all(e.group == "replayed" and e.chat_id == CHANNEL for e in entries)
    assert await redis.hget(keys.high_water("replayed"), str(CHANNEL)) == b"8"


async def test_replay_rate_is_paced_by_the_clock(redis: aioredis.Redis) -> None:
    export = load_export(EXPORTS / "channel_result.json")
    clock = FakeClock()
    seen: list[int] = []
    source = ReplaySource(list(export.messages), rate=4, clock=clock,
                          on_message=lambda m: seen.append(m.message_id))  # fmt: skip
    await replay(redis, Settings(), "paced", GroupSpec(chats=[CHANNEL]), source)
    assert seen == [2, 3, 4, 5, 6, 7, 8]
    assert clock.sleeps == [0.25] * 6  # 7 messages at 4/s: one every 0.25s after the first


@pytest.fixture
def cli_env(redis_url: str) -> dict[str, str]:
    return {"TELESNIFF_REDIS_URL": redis_url, "TELESNIFF_STREAM": f"replay-{uuid.uuid4().hex}",
            "TELESNIFF_LOG_LEVEL": "WARNING"}  # fmt: skip


def test_cli_replay(cli_env: dict[str, str], tmp_path: Path) -> None:
    spec = tmp_path / "group.yaml"
    spec.write_text("chats: ['@ignored']\ndetectors: [keyword]\nkeywords: [stealth launch]\n")
    result = CliRunner().invoke(
        app,
        ["replay", str(EXPORTS / "group_legacy_result.json"), "--group", "legacy",
         "--spec", str(spec)],
        env=cli_env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 of 2 message(s) from 1 chat(s) into group 'legacy'" in result.output
    assert "1 detection(s) appended" in result.output  # only the keyword detector ran
    assert "skipped 1 unsupported" in result.output
    client = redis.Redis.from_url(cli_env["TELESNIFF_REDIS_URL"])
    try:
        assert client.xlen(cli_env["TELESNIFF_STREAM"]) == 1
    finally:
        client.close()


def test_cli_replay_of_a_malformed_export_writes_nothing(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(
        app, ["replay", str(EXPORTS / "malformed_result.json")], env=cli_env
    )
    assert result.exit_code == 2
    assert "telesniff replay:" in result.output
    assert "messages[1].id: expected a positive integer" in result.output
    client = redis.Redis.from_url(cli_env["TELESNIFF_REDIS_URL"])
    try:
        assert client.exists(cli_env["TELESNIFF_STREAM"]) == 0
        assert client.exists(keys.group_stats("replay")) == 0
    finally:
        client.close()


def test_cli_replay_needs_a_redis_url() -> None:
    result = CliRunner().invoke(
        app, ["replay", str(EXPORTS / "channel_result.json")], env={"TELESNIFF_REDIS_URL": None}
    )
    assert result.exit_code == 2
    assert "TELESNIFF_REDIS_URL is required" in result.output
