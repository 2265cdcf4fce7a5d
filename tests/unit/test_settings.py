from __future__ import annotations

from pathlib import Path

import pytest

from telesniff.settings import SettingsError, load_settings


def test_environment_variables_and_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELESNIFF_PORT", "9001")
    monkeypatch.setenv("TELESNIFF_API_TOKENS", "one, two")
    settings = load_settings()
    assert settings.port == 9001
    assert [token.get_secret_value() for token in settings.api_tokens] == ["one", "two"]


def test_errors_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELESNIFF_BATCH_SIZE", "0")
    monkeypatch.setenv("TELESNIFF_REDIS_URL", "http://nope")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "TELESNIFF_BATCH_SIZE: Input should be greater than or equal to 1" in str(caught.value)
    assert "TELESNIFF_REDIS_URL: must start with redis://" in str(caught.value)


def test_yaml_config_file_and_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "telesniff.yaml"
    config.write_text("port: 7000\nstream: custom\n")
    monkeypatch.setenv("TELESNIFF_CONFIG", str(config))
    monkeypatch.setenv("TELESNIFF_PORT", "7001")
    settings = load_settings()
    assert settings.stream == "custom"
    assert settings.port == 7001  # the environment wins over the file
    assert load_settings(port=7002).port == 7002  # and the command line over both


def test_missing_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TELESNIFF_CONFIG", str(tmp_path / "absent.yaml"))
    with pytest.raises(SettingsError, match="TELESNIFF_CONFIG: no such file"):
        load_settings()


def test_secrets_come_from_mounted_files_and_never_print(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "telesniff_telegram_session").write_text("1SeCrEtSeSsIoN")
    (tmp_path / "telesniff_telegram_api_id").write_text("12345")
    monkeypatch.setenv("TELESNIFF_SECRETS_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.telegram_session is not None
    assert settings.telegram_session.get_secret_value() == "1SeCrEtSeSsIoN"
    assert settings.telegram_api_id == 12345
    assert "1SeCrEtSeSsIoN" not in repr(settings)
    assert "1SeCrEtSeSsIoN" not in str(settings.model_dump())


def test_sqlite_is_the_default_database(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.database_url_or_default() == f"sqlite+aiosqlite:///{tmp_path / 'telesniff.db'}"
