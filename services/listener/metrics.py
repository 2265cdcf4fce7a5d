"""The listener's Prometheus metrics, all in one place (names follow Prometheus conventions).

Labels are bounded on purpose: ``group`` (one per ChatGroup), ``kind`` (the
five match kinds), ``chat`` (the numeric id of one of the group's configured
chats: a listener only handles the chats its ChatGroup lists) and ``matched``
(true/false).  Chat text, addresses, titles, usernames, message ids and
anything secret never become label values: a label per address would grow
without bound, and metrics are scraped into systems with weaker access control.

The metrics live in the default registry so a standalone listener's
``/metrics`` also carries the process collectors (memory, CPU, open fds).
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge, Histogram

# An append is one script call per batch, one round trip to Redis: sub-millisecond on a
# LAN, more when loaded or for a batch of hundreds of entries.
_APPEND_BUCKETS: Final = (0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

MESSAGES: Final = Counter(
    "telesniff_listener_messages",
    "Messages handled (new and edited, live and caught up), matching or not.",
    ["group"],
)
DETECTIONS: Final = Counter(
    "telesniff_listener_detections",
    "Matches appended to the stream, by match kind.",
    ["group", "kind"],
)
CHAT_MESSAGES: Final = Counter(
    "telesniff_listener_chat_messages",
    "Messages handled per configured chat (numeric chat id); matched=true when appended.",
    ["group", "chat", "matched"],
)
APPEND_SECONDS: Final = Histogram(
    "telesniff_listener_append_seconds",
    "Time to append one batch: one round trip of the append script (EVALSHA, or EVAL "
    "after NOSCRIPT) doing every XADD plus the high-water and stats writes, "
    "retries included.",
    ["group"],
    buckets=_APPEND_BUCKETS,
)
GAP_RECOVERED: Final = Counter(
    "telesniff_listener_gap_recovered",
    "Messages fetched from history after a start or a reconnect (posted while not listening).",
    ["group"],
)
FLOODWAIT_SECONDS: Final = Counter(
    "telesniff_listener_floodwait_seconds",
    "Seconds Telegram asked the listener to wait (FLOOD_WAIT), counted when a wait starts.",
    ["group"],
)
FLOODWAIT_ACTIVE: Final = Gauge(
    "telesniff_listener_floodwait_active",
    "1 while the listener waits out a FLOOD_WAIT, else 0.",
    ["group"],
)
CONNECTED: Final = Gauge(
    "telesniff_listener_connected",
    "1 while connected to Telegram and caught up or catching up (a source without a "
    "connection, like the demo: while it runs), else 0.",
    ["group"],
)
LAST_MESSAGE: Final = Gauge(
    "telesniff_listener_last_message_timestamp_seconds",
    "Unix time at which the listener last appended a batch of handled messages "
    "(its start time until the first one).",
    ["group"],
)


def init_group(group: str) -> None:
    """Create a group's series at start: zeros to rate() and alert on before anything happens.

    The last-message time starts at the start time, so "silent for too long"
    also fires for a listener that never received anything.
    """
    MESSAGES.labels(group)
    GAP_RECOVERED.labels(group)
    FLOODWAIT_SECONDS.labels(group)
    FLOODWAIT_ACTIVE.labels(group).set(0)
    CONNECTED.labels(group)
    APPEND_SECONDS.labels(group)
    LAST_MESSAGE.labels(group).set_to_current_time()


class GroupSeries:
    """One group's labelled series, each looked up once and kept.

    ``.labels()`` builds a key, takes a lock and looks the child up on every
    call; the stream writer touches four to six series per batch, which an idle
    listener sends for every single message.  ``chat`` is one of the group's
    configured chats and ``kind`` one of five, so the dicts stay small.
    """

    def __init__(self, group: str) -> None:
        self.group = group
        self.messages = MESSAGES.labels(group)
        self.append_seconds = APPEND_SECONDS.labels(group)
        self.last_message = LAST_MESSAGE.labels(group)
        self._chats: dict[tuple[int, bool], Counter] = {}
        self._kinds: dict[str, Counter] = {}

    def chat(self, chat_id: int, matched: bool) -> Counter:
        child = self._chats.get((chat_id, matched))
        if child is None:
            child = CHAT_MESSAGES.labels(self.group, str(chat_id), "true" if matched else "false")
            self._chats[chat_id, matched] = child
        return child

    def detections(self, kind: str) -> Counter:
        child = self._kinds.get(kind)
        if child is None:
            child = self._kinds[kind] = DETECTIONS.labels(self.group, kind)
        return child
