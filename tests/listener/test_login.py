"""``telesniff login`` with the Telethon client replaced at its seam (Telegram is unreachable)."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from telethon import errors
from typer.testing import CliRunner

from telesniff.cli import login as login_command  # noqa: F401  (registers `login`)
from telesniff.cli.app import app
from telesniff.listener import login as flow
from tests.listener.harness import API_HASH, make_session

PHONE = "+15551234567"
CODE = "12345"
PASSWORD = "correct horse battery"


class FakeLoginClient:
    """Answers like Telegram: a code, then a 2FA password when the account has one."""

    made: ClassVar[list[FakeLoginClient]] = []

    def __init__(self, api_id: int, api_hash: str, *, two_factor: bool) -> None:
        self.api_id, self.api_hash, self.two_factor = api_id, api_hash, two_factor
        self.session = type("Session", (), {"save": staticmethod(lambda: self.saved)})()
        self.saved = make_session()
        self.codes_sent: list[str] = []
        self.signed_in = False
        self.disconnected = False
        FakeLoginClient.made.append(self)

    async def connect(self) -> None:
        pass

    async def send_code_request(self, phone: str) -> None:
        self.codes_sent.append(phone)

    async def sign_in(
        self, phone: str | None = None, code: str | None = None, *, password: str | None = None
    ) -> None:
        if password is not None:
            if password != PASSWORD:
                raise errors.PasswordHashInvalidError(request=None)
        elif code != CODE:
            raise errors.PhoneCodeInvalidError(request=None)
        elif self.two_factor:
            raise errors.SessionPasswordNeededError(request=None)
        self.signed_in = True

    async def disconnect(self) -> None:
        self.disconnected = True


@pytest.fixture
def telegram(monkeypatch: pytest.MonkeyPatch) -> list[FakeLoginClient]:
    FakeLoginClient.made = []
    monkeypatch.setattr(
        flow, "client_factory", lambda api_id, api_hash: FakeLoginClient(api_id, api_hash,
                                                                          two_factor=True)
    )  # fmt: skip
    return FakeLoginClient.made


def _run(args: list[str], answers: list[str], **env: str | None) -> Any:
    environment: dict[str, str | None] = {
        "TELESNIFF_TELEGRAM_API_ID": None, "TELESNIFF_TELEGRAM_API_HASH": None, **env,
    }  # fmt: skip
    return CliRunner().invoke(app, ["login", *args], input="\n".join(answers) + "\n",
                              env=environment)  # fmt: skip


def test_login_prints_only_the_session_on_stdout(telegram: list[FakeLoginClient]) -> None:
    result = _run([], ["1234567", API_HASH, PHONE, "00000", CODE, "wrong", PASSWORD])
    assert result.exit_code == 0, result.output
    (client,) = telegram
    # Prompts and messages go to stderr, so `telesniff login > session` keeps only the session
    # (CliRunner echoes typed input into stdout; a terminal echoes it on the tty instead).
    assert result.stdout.endswith("\n" + client.saved + "\n")
    assert "Phone number" in result.stderr
    assert "Phone number" not in result.stdout
    assert "Keep it secret" not in result.stdout
    assert (client.api_id, client.api_hash, client.codes_sent) == (1234567, API_HASH, [PHONE])
    assert client.signed_in
    assert client.disconnected
    assert "That code is not valid" in result.stderr
    assert "That password is not right" in result.stderr
    # Hidden inputs are not echoed.
    assert API_HASH not in result.output
    assert PASSWORD not in result.output


def test_login_k8s_secret_manifest(telegram: list[FakeLoginClient]) -> None:
    result = _run(
        ["--k8s-secret", "telegram-alpha", "--namespace", "trading"],
        [PHONE, CODE, PASSWORD],
        TELESNIFF_TELEGRAM_API_ID="1234567", TELESNIFF_TELEGRAM_API_HASH=API_HASH,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = yaml.safe_load(result.stdout.split("\n", 3)[3])  # after the 3 echoed answers
    assert manifest == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "telegram-alpha", "namespace": "trading",
                     "labels": {"app.kubernetes.io/part-of": "telesniff"}},
        "type": "Opaque",
        "stringData": {"session": telegram[0].saved, "api_id": "1234567", "api_hash": API_HASH},
    }  # fmt: skip


def test_login_output_file_is_private(telegram: list[FakeLoginClient], tmp_path: Path) -> None:
    target = tmp_path / "session.txt"
    target.write_text("old")
    target.chmod(0o644)
    result = _run(["--output", str(target)], ["1234567", API_HASH, PHONE, CODE, PASSWORD])
    assert result.exit_code == 0, result.output
    assert telegram[0].saved not in result.stdout
    assert target.read_text() == telegram[0].saved + "\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_bad_options_fail_before_any_prompt(telegram: list[FakeLoginClient]) -> None:
    result = _run(["--k8s-secret", "Not_A_Name"], [])
    assert result.exit_code == 2
    assert "--k8s-secret 'Not_A_Name': a Secret name is lowercase" in result.output
    result = _run(["--namespace", "ns"], [])
    assert result.exit_code == 2
    assert "--namespace only applies with --k8s-secret" in result.output
    assert telegram == []


def test_login_gives_up_after_three_bad_codes(telegram: list[FakeLoginClient]) -> None:
    result = _run([], ["1234567", API_HASH, PHONE, "1", "2", "3"])
    assert result.exit_code == 1
    assert "telesniff login: 3 invalid codes" in result.output
    assert telegram[0].disconnected


def test_manifest_without_namespace_and_name_checks() -> None:
    text = flow.secret_manifest("tg", None, session="s" * 10, api_id=1, api_hash="h" * 32)
    assert "namespace" not in yaml.safe_load(text)["metadata"]
    with pytest.raises(ValueError, match="--namespace"):
        flow.check_secret_names("ok", "Bad_NS")
