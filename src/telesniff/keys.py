"""Redis key names shared by the listener, the operator and the tests (one place to change)."""

from __future__ import annotations

import hashlib


def group_stats(group: str) -> str:
    """Hash of a ChatGroup's counters: messages, detections, last_message_at."""
    return f"telesniff:group:{group}:stats"


def high_water(group: str) -> str:
    """Hash of chat id → the last message id the group's listener has handled."""
    return f"telesniff:group:{group}:hwm"


def session_lease(session: str) -> str:
    """The fence for one Telegram session; keyed by a digest so the secret never shows."""
    digest = hashlib.sha256(session.encode()).hexdigest()[:32]
    return f"telesniff:lease:{digest}"
