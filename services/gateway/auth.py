"""Bearer tokens (constant-time) and the WebSocket origin check.

Tokens are compared with ``hmac.compare_digest`` against every configured token
(no early exit, so timing tells nothing about which or how much matched) and
are never logged.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Sequence
from typing import Final
from urllib.parse import urlsplit

from pydantic import SecretStr

SUBPROTOCOL: Final = "telesniff.v1"
BEARER_PREFIX: Final = "bearer."


def token_bytes(tokens: Iterable[SecretStr]) -> tuple[bytes, ...]:
    return tuple(value.encode() for token in tokens if (value := token.get_secret_value().strip()))


def token_matches(presented: str | None, tokens: Sequence[bytes]) -> bool:
    if presented is None:
        return False
    candidate = presented.encode()
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(candidate, token)
    return matched


def bearer_from_header(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def bearer_from_subprotocols(subprotocols: Iterable[str]) -> str | None:
    """The token of a ``bearer.<token>`` WebSocket subprotocol (browsers cannot set headers)."""
    for protocol in subprotocols:
        if protocol.startswith(BEARER_PREFIX) and len(protocol) > len(BEARER_PREFIX):
            return protocol[len(BEARER_PREFIX) :]
    return None


def normalize_origins(origins: Iterable[str]) -> frozenset[str]:
    return frozenset(origin.strip().rstrip("/").lower() for origin in origins if origin.strip())


def origin_allowed(origin: str | None, host: str | None, allowed: frozenset[str]) -> bool:
    """An Origin passes when no list is configured, it is listed, or it is this host."""
    if origin is None or not allowed or "*" in allowed:
        return True
    normalized = origin.strip().rstrip("/").lower()
    if normalized in allowed:
        return True
    parts = urlsplit(normalized)
    return parts.scheme in {"http", "https"} and bool(host) and parts.netloc == (host or "").lower()
