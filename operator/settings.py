"""The operator's own settings, from ``TELESNIFF_OPERATOR_*`` environment variables.

The listeners it starts get their settings from environment variables that the
operator passes through (``listener_env``): the operator is configured once,
by the chart, and every listener inherits the broker names from it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from telesniff import __version__
from telesniff.settings import CommaList, LogLevel, describe_errors

# The listener variables worth passing through by default: where the stream is,
# and how the listener behaves. Secrets (Telegram) never travel this way.
DEFAULT_LISTENER_ENV = (
    "TELESNIFF_REDIS_URL",
    "TELESNIFF_STREAM",
    "TELESNIFF_STREAM_MAXLEN",
    "TELESNIFF_LIVE_CHANNEL",
    "TELESNIFF_LISTENER_BATCH",
    "TELESNIFF_LEASE_TTL_S",
    "TELESNIFF_CATCH_UP_LIMIT",
    "TELESNIFF_LOG_LEVEL",
)

_SA_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def _own_namespace() -> str:
    """The namespace this pod runs in (for the webhook Service), or ``default`` outside one."""
    if os.environ.get("POD_NAMESPACE"):
        return os.environ["POD_NAMESPACE"]
    try:
        return _SA_NAMESPACE.read_text().strip() or "default"
    except OSError:
        return "default"


class OperatorSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TELESNIFF_OPERATOR_",
        extra="forbid",
        validate_default=True,
        frozen=True,
        populate_by_name=True,
    )

    # What to watch: no namespaces means cluster-wide.
    namespaces: CommaList = []

    # The listener workload.
    listener_image: str = f"telesniff:{__version__}"
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    # Names of the operator's own environment variables copied into every listener.
    listener_env: CommaList = list(DEFAULT_LISTENER_ENV)
    # A Secret (in each ChatGroup's namespace) whose keys become the listener's
    # environment, for values that must not appear in a pod spec (a Redis password).
    listener_env_secret: str | None = None
    listener_uid: Annotated[int, Field(ge=1)] = 10001
    listener_metrics_port: Annotated[int, Field(ge=1, le=65535)] = 9100
    listener_cpu_request: str = "50m"
    listener_memory_request: str = "128Mi"
    listener_memory_limit: str = "512Mi"

    # Admission webhook. Without a server certificate there is no webhook at all:
    # kopf's self-signed mode needs kopf[dev], which production images do not carry.
    webhook_enabled: bool = True
    webhook_addr: str = "0.0.0.0"
    webhook_port: Annotated[int, Field(ge=1, le=65535)] = 9443
    webhook_cert_file: Path | None = None
    webhook_key_file: Path | None = None
    webhook_ca_file: Path | None = None
    # In a cluster the API server reaches the webhook through this Service;
    # unset, it uses https://<webhook_host or webhook_addr>:<port> (local runs).
    webhook_service_name: str | None = None
    webhook_service_namespace: str = Field(default_factory=_own_namespace)
    webhook_service_port: Annotated[int, Field(ge=1, le=65535)] = 443
    webhook_host: str | None = None
    webhook_configuration: str = "chatgroups.telesniff.dev"
    # Deny (Fail) or let through (Ignore) when the webhook cannot be reached.
    webhook_failure_policy: Literal["Fail", "Ignore"] = "Fail"

    # Observability.
    metrics_addr: str = "0.0.0.0"
    # 9100: every telesniff process serves /metrics there (the chart's Services and
    # ServiceMonitor/PodMonitor scrape the port named ``metrics``).
    metrics_port: Annotated[int, Field(ge=0, le=65535)] = 9100
    liveness_endpoint: str | None = "http://0.0.0.0:8080/healthz"

    # High availability: kopf peering. Replicas pick distinct priorities (random
    # unless set) so exactly one is active and the others wait as hot standbys.
    peering_name: str | None = "telesniff"
    priority: int | None = None

    # Status: how often counters and conditions are refreshed per ChatGroup.
    status_interval_s: Annotated[float, Field(gt=0)] = 30.0
    # The operator reads counters from the same Redis the listeners write to.
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TELESNIFF_OPERATOR_REDIS_URL", "TELESNIFF_REDIS_URL"),
    )

    field_manager: str = "telesniff-operator"
    log_level: LogLevel = "INFO"

    @property
    def webhook_tls(self) -> bool:
        return self.webhook_cert_file is not None and self.webhook_key_file is not None

    def listener_env_values(self, environ: dict[str, str] | None = None) -> dict[str, str]:
        """The pass-through variables that are actually set in the operator's environment."""
        source = os.environ if environ is None else environ
        return {name: source[name] for name in self.listener_env if name in source}


class OperatorSettingsError(ValueError):
    """Settings that cannot be used; the message names each variable."""


def load_operator_settings(**overrides: Any) -> OperatorSettings:
    try:
        return OperatorSettings(
            **{key: value for key, value in overrides.items() if value is not None}
        )
    except ValidationError as error:
        raise OperatorSettingsError(describe_errors(error, "TELESNIFF_OPERATOR_")) from None
