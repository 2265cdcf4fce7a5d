"""Names the operator shares with the CRD, the chart and the listener: one place for each."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Final

GROUP: Final = "telesniff.dev"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
KIND: Final = "ChatGroup"
PLURAL: Final = "chatgroups"

# Labels on every child; the operator's watches select on NAME_LABEL server-side.
NAME_LABEL: Final = "app.kubernetes.io/name"
LISTENER_NAME: Final = "telesniff-listener"
INSTANCE_LABEL: Final = "app.kubernetes.io/instance"
MANAGED_BY_LABEL: Final = "app.kubernetes.io/managed-by"
GROUP_LABEL: Final = "telesniff.dev/chatgroup"
CONFIG_HASH_ANNOTATION: Final = "telesniff.dev/config-hash"

# Inside the listener pod.
CONFIG_DIR: Final = "/etc/telesniff"
CONFIG_FILE: Final = "group.yaml"
SECRETS_DIR: Final = "/run/secrets/telesniff"
# File names the listener's settings read from SECRETS_DIR (lower-case env names).
SECRET_FILES: Final = {
    "session": "telesniff_telegram_session",
    "api_id": "telesniff_telegram_api_id",
    "api_hash": "telesniff_telegram_api_hash",
}
METRICS_PORT_NAME: Final = "metrics"
HEALTH_PATH: Final = "/healthz"


def stats_key(group: str) -> str:
    """The Redis hash the listener keeps its counters in."""
    return f"telesniff:group:{group}:stats"


def _shorten(text: str, limit: int) -> str:
    """Keep names within Kubernetes limits, deterministically and without collisions."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{text[: limit - 9].rstrip('-.')}-{digest}"


def label_value(text: str) -> str:
    """A label value (at most 63 characters) standing for ``text``."""
    return _shorten(text, 63)


def listener_name(group: str) -> str:
    """The StatefulSet's name. Its pods' controller-revision-hash label is
    ``<name>-<10 chars>`` and must fit in 63 characters, hence 52."""
    return _shorten(f"{group}-listener", 52)


def config_map_name(group: str) -> str:
    return _shorten(f"{group}-listener-config", 253)


def child_labels(group: str) -> dict[str, str]:
    return {
        NAME_LABEL: LISTENER_NAME,
        INSTANCE_LABEL: label_value(group),
        GROUP_LABEL: label_value(group),
        MANAGED_BY_LABEL: "telesniff-operator",
    }


def selector_labels(group: str) -> dict[str, str]:
    """The StatefulSet's selector: immutable, so only labels that never change."""
    return {NAME_LABEL: LISTENER_NAME, INSTANCE_LABEL: label_value(group)}


def group_path(namespace: str, name: str | None = None) -> str:
    base = f"/apis/{API_VERSION}/namespaces/{namespace}/{PLURAL}"
    return base if name is None else f"{base}/{name}"


def owner_of(body: Mapping[str, Any]) -> str | None:
    """The name of the ChatGroup that owns a child (from its ownerReferences)."""
    metadata = body.get("metadata") or {}
    for reference in metadata.get("ownerReferences") or []:
        if (
            isinstance(reference, Mapping)
            and reference.get("kind") == KIND
            and str(reference.get("apiVersion", "")).startswith(f"{GROUP}/")
        ):
            name = reference.get("name")
            return str(name) if name else None
    return None
