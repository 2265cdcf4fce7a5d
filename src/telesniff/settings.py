"""Settings for every process, from ``TELESNIFF_*`` variables, a YAML file, and secret files.

Precedence, highest first: keyword arguments (the CLI's options), environment
variables, the YAML file named by ``TELESNIFF_CONFIG``, files in the secrets
directory (``TELESNIFF_SECRETS_DIR``, one file per setting, as Kubernetes
mounts Secret keys), then the defaults below.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

DEFAULT_SECRETS_DIR = Path("/run/secrets/telesniff")


def _split_list(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _log_level(value: str) -> str:
    level = value.upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return level


# Setting types shared by every settings class (the operator has its own prefix).
CommaList = Annotated[list[str], NoDecode, BeforeValidator(_split_list)]
LogLevel = Annotated[str, AfterValidator(_log_level)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TELESNIFF_", extra="forbid", validate_default=True, frozen=True
    )

    # Brokers and storage. None means "embedded": a Valkey server started in
    # process and SQLite in a local file, so one laptop needs nothing installed.
    redis_url: str | None = None
    database_url: str | None = None
    data_dir: Path = Path(".telesniff")

    # The stream contract's names (see docs/stream-contract.md).
    stream: str = "telesniff:messages"
    stream_maxlen: Annotated[int, Field(ge=1000)] = 100_000
    consumer_group: str = "telesniff"
    dead_letter_stream: str = "telesniff:dead-letter"
    live_channel: str = "telesniff:live"

    # Listener.
    listener_batch: Annotated[int, Field(ge=1, le=10_000)] = 500
    lease_ttl_s: Annotated[float, Field(gt=1)] = 30.0
    catch_up_limit: Annotated[int, Field(ge=0, le=100_000)] = 1000

    # Consumer: a batch is flushed to the database at a size or an age, whichever first.
    consumer_name: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    batch_size: Annotated[int, Field(ge=1, le=50_000)] = 2000
    flush_interval_ms: Annotated[int, Field(ge=1, le=60_000)] = 25
    claim_idle_ms: Annotated[int, Field(ge=1000)] = 30_000
    claim_every_s: Annotated[float, Field(gt=0)] = 10.0

    # Gateway.
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8000
    api_tokens: Annotated[list[SecretStr], NoDecode, BeforeValidator(_split_list)] = []
    allowed_origins: CommaList = []
    client_queue: Annotated[int, Field(ge=1, le=100_000)] = 256
    client_buffer_bytes: Annotated[int, Field(ge=4096, le=2**30)] = 8 * 1024 * 1024

    # Metrics: every process serves Prometheus metrics; 0 picks a free port.
    metrics_port: Annotated[int, Field(ge=0, le=65535)] | None = None

    # Demo source, used when no Telegram session is configured.
    demo_rate: Annotated[float, Field(gt=0, le=1_000_000)] = 20.0
    demo_groups: Annotated[int, Field(ge=1, le=100)] = 2

    # Telegram: secrets usually come from the secrets directory, never from the command line.
    telegram_api_id: int | None = None
    telegram_api_hash: SecretStr | None = None
    telegram_session: SecretStr | None = None

    log_level: LogLevel = "INFO"

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @property
    def telegram_configured(self) -> bool:
        return self.telegram_session is not None

    def database_url_or_default(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'telesniff.db').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("TELESNIFF_CONFIG")
        if config_file:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config_file))
        secrets_dir = Path(os.environ.get("TELESNIFF_SECRETS_DIR", DEFAULT_SECRETS_DIR))
        if secrets_dir.is_dir():
            file_secret_settings.secrets_dir = secrets_dir  # type: ignore[attr-defined]
            sources.append(file_secret_settings)
        return tuple(sources)


class SettingsError(ValueError):
    """Settings that cannot be used; the message names each setting and what is wrong."""


def describe_errors(error: ValidationError, env_prefix: str) -> str:
    """One line naming each environment variable at fault and what is wrong with it."""
    problems = []
    for problem in error.errors(include_url=False):
        name = ".".join(str(part) for part in problem["loc"])
        variable = f"{env_prefix}{name.upper()}" if name else "settings"
        message = str(problem["msg"]).removeprefix("Value error, ")
        problems.append(f"{variable}: {message}")
    return "; ".join(problems)


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning validation errors into one readable message."""
    config_file = os.environ.get("TELESNIFF_CONFIG")
    if config_file and not Path(config_file).is_file():
        raise SettingsError(f"TELESNIFF_CONFIG: no such file {config_file!r}")
    try:
        return Settings(**{key: value for key, value in overrides.items() if value is not None})
    except ValidationError as error:
        raise SettingsError(describe_errors(error, "TELESNIFF_")) from None
