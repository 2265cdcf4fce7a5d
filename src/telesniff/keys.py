"""Redis key names shared by the listener, the operator and the tests (one place to change)."""

from __future__ import annotations

import hashlib


def group_stats(group: str) -> str:
    """Hash of a ChatGroup's counters: messages, detections, last_message_at."""
    return f"telesniff:group:{group}:stats"


def high_water(group: str) -> str:
    """Hash of chat id → the last message id the group's listener has handled."""
    return f"telesniff:group:{group}:hwm"


def _session_digest(session: str) -> str:
    # Keys name the session by digest, so the secret never shows in Redis or in logs.
    return hashlib.sha256(session.encode()).hexdigest()[:32]


def session_lease(session: str) -> str:
    """The fence for one Telegram session: one listener per session, ever."""
    return f"telesniff:lease:{_session_digest(session)}"


def session_peers(session: str) -> str:
    """Hash of resolved chats (``kind:value`` → chat info JSON) for one session.

    Per session, because Telegram's access hashes are per account.
    """
    return f"telesniff:session:{_session_digest(session)}:peers"
