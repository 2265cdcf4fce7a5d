"""``telesniff listener``: everything checkable is checked, by name, before connecting."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import orjson
import pytest
import redis
from typer.testing import CliRunner

from telesniff import keys
from telesniff.cli import listener as listener_command  # noqa: F401  (registers `listener`)
from telesniff.cli.app import app
from telesniff.listener.telegram import main as telegram_main
from tests.listener.harness import API_HASH, make_session


class NoTelegram:
    """Stands in for the Telethon API: records whether anything tried to connect."""

    connects: ClassVar[list[object]] = []

    def __init__(self, client: Any) -> None:
        self.client = client

    async def connect(self) -> None:
        NoTelegram.connects.append(self)
        raise AssertionError("must not connect")


@pytest.fixture(autouse=True)
def no_telegram(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    NoTelegram.connects = []
    monkeypatch.setattr(telegram_main, "TelethonApi", NoTelegram)
    return NoTelegram.connects


def _env(session: str | None = None, **more: str | None) -> dict[str, str | None]:
    return {
        "TELESNIFF_TELEGRAM_SESSION": session, "TELESNIFF_TELEGRAM_API_ID": "1234567",
        "TELESNIFF_TELEGRAM_API_HASH": API_HASH, "TELESNIFF_REDIS_URL": None,
        "TELESNIFF_METRICS_PORT": None, **more,
    }  # fmt: skip


def _group(tmp_path: Path, body: str) -> str:
    path = tmp_path / "alpha.yaml"
    path.write_text(body)
    return str(path)


def test_bad_pattern_and_chat_are_named(tmp_path: Path, no_telegram: list[object]) -> None:
    group = _group(
        tmp_path,
        "kind: ChatGroup\nmetadata: {name: alpha}\nspec:\n"
        "  chats: ['@ok_chat', 'not a chat']\n  patterns: ['(unclosed']\n",
    )
    result = CliRunner().invoke(app, ["listener", "--group", group], env=_env(make_session()))
    assert result.exit_code == 2
    assert "spec.chats: chat 'not a chat': expected a numeric id" in result.output
    assert "spec.patterns: pattern '(unclosed' is not a valid regular expression" in result.output
    assert no_telegram == []


def test_missing_credentials_are_named(tmp_path: Path) -> None:
    group = _group(tmp_path, "chats: ['@ok_chat']\n")
    result = CliRunner().invoke(
        app, ["listener", "--group", group], env=_env(None, TELESNIFF_TELEGRAM_API_HASH=None)
    )
    assert result.exit_code == 2
    assert "TELESNIFF_TELEGRAM_SESSION, TELESNIFF_TELEGRAM_API_HASH not set" in result.output
    assert "telesniff login" in result.output


def test_missing_redis_and_suspended_group(tmp_path: Path) -> None:
    group = _group(tmp_path, "chats: ['@ok_chat']\n")
    result = CliRunner().invoke(app, ["listener", "--group", group], env=_env(make_session()))
    assert result.exit_code == 2
    assert "TELESNIFF_REDIS_URL is required" in result.output
    suspended = _group(tmp_path, "chats: ['@ok_chat']\nsuspend: true\n")
    result = CliRunner().invoke(app, ["listener", "--group", suspended], env=_env(make_session()))
    assert result.exit_code == 0
    assert "suspended; not starting" in result.output


def test_held_session_refuses_before_connecting(
    tmp_path: Path, redis_url: str, no_telegram: list[object]
) -> None:
    session = make_session()
    holder = {"group": "beta", "host": "node-7", "pid": 4321, "since": 1.7e9, "token": "t"}
    client = redis.Redis.from_url(redis_url)
    client.set(keys.session_lease(session), orjson.dumps(holder), px=60_000)
    try:
        group = _group(tmp_path, "chats: ['@ok_chat']\n")
        result = CliRunner().invoke(
            app, ["listener", "--group", group],
            env=_env(session, TELESNIFF_REDIS_URL=redis_url, TELESNIFF_LOG_LEVEL="WARNING"),
        )  # fmt: skip
    finally:
        client.delete(keys.session_lease(session))
        client.close()
    assert result.exit_code == 1
    assert "already in use by listener for group 'beta' on host node-7 (pid 4321)" in result.output
    assert session not in result.output
    assert no_telegram == []
