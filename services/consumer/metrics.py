"""The consumer's Prometheus metrics (default registry, so the process collectors come along).

Everything is observed per read or per flush, never per message through the
client library: the end-to-end latency of a read's entries is tallied into
plain lists and added under one lock (``BatchHistogram``), and counters are
incremented once per batch.

Labels are bounded: ``group`` is a ChatGroup name (one per listener; capped
at ``MAX_GROUPS`` distinct values per process in case something else writes
to the stream), ``stream`` and ``consumer_group`` are settings, ``operation``
is one of a few names.  Message text, addresses, chat titles, message and
stream ids, consumer names and URLs never become label values.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final, cast

import redis.asyncio as aioredis
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from redis.exceptions import RedisError

from telesniff.db.store import Stored
from telesniff.settings import Settings

log = logging.getLogger(__name__)
# How the client library writes ``le`` values ("+Inf", "0.005", "1e+06"): the same here.
_go_float = cast(Callable[[float], str], floatToGoString)

MAX_GROUPS: Final = 1000
OTHER_GROUP: Final = "_other"
WATCH_EVERY_S: Final = 5.0

# Receive → broadcast is a few milliseconds when all is well (target: p99 under 10 ms);
# fine-grained there, coarse beyond (a backlog after an outage takes seconds to minutes).
LATENCY_BUCKETS: Final = (
    0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015,
    0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip
_BATCH_BUCKETS: Final = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2000, 5000, 10_000, 50_000)
_FLUSH_BUCKETS: Final = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip


class BatchHistogram(Collector):
    """A histogram with one label that takes a whole batch of observations at once.

    ``prometheus_client.Histogram.observe`` takes locks per call; at tens of
    thousands of entries a second that is measurable on the broadcast path.
    Here a batch costs one lock and a ``bisect`` per value.
    """

    def __init__(
        self,
        name: str,
        documentation: str,
        label: str,
        buckets: Sequence[float],
        registry: CollectorRegistry | None = REGISTRY,
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._label = label
        self._bounds = tuple(sorted(float(bound) for bound in buckets))
        self._lock = threading.Lock()
        # label value -> (count per bucket, the last one +Inf; sum)
        self._series: dict[str, tuple[list[int], list[float]]] = {}
        if registry is not None:
            registry.register(self)

    def observe_many(self, label: str, values: Iterable[float]) -> None:
        bounds = self._bounds
        with self._lock:
            series = self._series.get(label)
            if series is None:
                series = self._series[label] = ([0] * (len(bounds) + 1), [0.0])
            counts, total = series
            for value in values:
                counts[bisect_left(bounds, value)] += 1
                total[0] += value

    def describe(self) -> Iterator[Metric]:
        yield HistogramMetricFamily(self._name, self._documentation, labels=[self._label])

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self._name, self._documentation, labels=[self._label])
        with self._lock:
            snapshot = [(label, list(counts), total[0]) for label, (counts, total) in
                        self._series.items()]  # fmt: skip
        for label, counts, total in sorted(snapshot):
            cumulative = 0
            buckets: list[tuple[str, float]] = []
            for bound, count in zip((*self._bounds, float("inf")), counts, strict=True):
                cumulative += count
                buckets.append((_go_float(bound), cumulative))
            family.add_metric([label], buckets, total)
        yield family


ENTRIES: Final = Counter(
    "telesniff_consumer_entries",
    "Stream entries read, decoded and broadcast (claimed and recovered ones included), "
    "by ChatGroup. Undecodable entries count in telesniff_consumer_dead_lettered_total.",
    ["group"],
)
STORED: Final = Counter(
    "telesniff_consumer_stored_entries",
    "Entries written to the database and acknowledged.",
)
BATCH_SIZE: Final = Histogram(
    "telesniff_consumer_batch_size",
    "Entries per database flush.",
    buckets=_BATCH_BUCKETS,
)
FLUSH_SECONDS: Final = Histogram(
    "telesniff_consumer_flush_duration_seconds",
    "Time to store one batch: the upsert (with its retries) and the XACK.",
    buckets=_FLUSH_BUCKETS,
)
DB_WRITE_ERRORS: Final = Counter(
    "telesniff_consumer_db_write_errors",
    "Failed database writes (each is retried; nothing is acknowledged before it succeeds).",
)
DEAD_LETTERED: Final = Counter(
    "telesniff_consumer_dead_lettered",
    "Entries that could not be decoded, moved to the dead-letter stream.",
)
CLAIMED: Final = Counter(
    "telesniff_consumer_claimed",
    "Entries taken over from a consumer that left them pending too long (XAUTOCLAIM).",
)
TRIMMED: Final = Counter(
    "telesniff_consumer_trimmed_unstored",
    "Pending entries trimmed from the stream before anyone stored them (lost).",
)
REDIS_ERRORS: Final = Counter(
    "telesniff_consumer_redis_errors",
    "Redis errors by operation (read, ack, claim, xinfo); each is retried.",
    ["operation"],
)
GROUP_LAG: Final = Gauge(
    "telesniff_consumer_group_lag",
    "Entries in the stream not yet delivered to the consumer group (XINFO GROUPS lag).",
    ["stream", "consumer_group"],
)
GROUP_PENDING: Final = Gauge(
    "telesniff_consumer_group_pending",
    "Entries delivered to the consumer group and not yet acknowledged (XINFO GROUPS pending).",
    ["stream", "consumer_group"],
)
DEAD_LETTER_LENGTH: Final = Gauge(
    "telesniff_consumer_dead_letter_stream_length",
    "Entries in the dead-letter stream (XLEN).",
    ["stream"],
)
LATENCY: Final = BatchHistogram(
    "telesniff_consumer_end_to_end_latency_seconds",
    "From the listener receiving a message to the consumer's broadcast of its entry "
    "(live reads only; claimed and recovered entries are not counted), by ChatGroup.",
    "group",
    LATENCY_BUCKETS,
)

for _operation in ("read", "ack", "claim", "xinfo"):
    REDIS_ERRORS.labels(_operation)

_known_groups: set[str] = set()


def group_label(group: str) -> str:
    """``group`` itself, or ``OTHER_GROUP`` once ``MAX_GROUPS`` names have been seen."""
    if group in _known_groups:
        return group
    if len(_known_groups) >= MAX_GROUPS:
        return OTHER_GROUP
    _known_groups.add(group)
    return group


def record_broadcast(stored: Sequence[Stored], dead: int, *, live: bool) -> None:
    """One read was broadcast: count it by group and, for live reads, observe its latency."""
    if dead:
        DEAD_LETTERED.inc(dead)
    if not stored:
        return
    now = time.time()
    by_group: dict[str, list[float]] = {}
    for item in stored:
        entry = item.entry
        values = by_group.get(entry.group)
        if values is None:
            values = by_group[entry.group] = []
        # Clocks of two hosts: a listener slightly ahead must not produce negative latency.
        values.append(max(now - entry.received_at, 0.0))
    for group, values in by_group.items():
        label = group_label(group)
        ENTRIES.labels(label).inc(len(values))
        if live:
            LATENCY.observe_many(label, values)


def record_flush(size: int, seconds: float) -> None:
    BATCH_SIZE.observe(size)
    FLUSH_SECONDS.observe(seconds)
    STORED.inc(size)


def _field(info: dict[Any, Any], name: str) -> Any:
    return info.get(name, info.get(name.encode()))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def read_group_stats(client: aioredis.Redis, settings: Settings) -> None:
    """Update the lag, pending and dead-letter gauges (XINFO GROUPS and XLEN, one round trip)."""
    pipe = client.pipeline(transaction=False)
    pipe.xinfo_groups(settings.stream)
    pipe.xlen(settings.dead_letter_stream)
    groups, dead_letters = await pipe.execute()
    for info in groups:
        if _text(_field(info, "name")) != settings.consumer_group:
            continue
        labels = (settings.stream, settings.consumer_group)
        GROUP_PENDING.labels(*labels).set(int(_field(info, "pending") or 0))
        lag = _field(info, "lag")
        if lag is not None:  # None when the server cannot tell (after XDEL or a trim)
            GROUP_LAG.labels(*labels).set(int(lag))
    DEAD_LETTER_LENGTH.labels(settings.dead_letter_stream).set(int(dead_letters))


async def watch_group(client: aioredis.Redis, settings: Settings) -> None:
    """Read the group's stats every ``WATCH_EVERY_S`` seconds until cancelled."""
    while True:
        try:
            await read_group_stats(client, settings)
        except RedisError as error:  # includes "no such key" before the stream exists
            REDIS_ERRORS.labels("xinfo").inc()
            log.debug("reading the consumer group's stats failed (%s)", error)
        await asyncio.sleep(WATCH_EVERY_S)
