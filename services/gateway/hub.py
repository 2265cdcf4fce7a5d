"""The fan-out hub: one live-channel subscription per process, one frame per batch per client.

The consumer publishes each batch once; the hub decodes it once, serializes each
detection once and builds one frame per distinct filter (clients with the same filter
share it, down to the WebSocket frame bytes).  Then, without awaiting anything, it
either writes those bytes straight to each client's transport (the raw path, see
``rawsend``) or puts the frame on the client's bounded queue, which the client's own
sender task sends through ASGI (while a resuming client replays, and on servers
without the raw writer).  A client that stops keeping up (more than
``client_buffer_bytes`` unsent on its socket, or a full queue) is dropped ("too slow"):
the hub never waits on a socket, so a slow client never delays the hub or the others.

If the subscription breaks (Redis restarted, network), batches published meanwhile are
lost for live clients, so every client is closed with 1012 and told to resume from its
cursor; the stream replay fills the hole.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from typing import Final

from redis.asyncio import Redis
from redis.exceptions import RedisError

from telesniff.gateway.filters import Filter
from telesniff.gateway.frames import (
    Frame,
    Item,
    StreamKey,
    decode_batch,
    encode_items,
    select,
    text_frame,
)
from telesniff.gateway.metrics import Metrics
from telesniff.gateway.rawsend import RawSend

log = logging.getLogger(__name__)

TOO_SLOW: Final = (1013, "too slow")
INTERRUPTED: Final = (1012, "live feed interrupted; reconnect with your cursor")
GOING_AWAY: Final = (1001, "gateway shutting down")
CLOSING: Final = (1001, "connection closing")
MERGE_LIMIT: Final = 64  # frames merged into one message for a client that fell behind


class Client:
    """One WebSocket connection as the hub sees it: a filter, and a way to its socket.

    Queued first: frames wait on a bounded queue for ``pump``.  After ``Hub.go_raw``,
    the hub writes frames to the socket itself and bounds the bytes the client has not
    taken instead.
    """

    __slots__ = (
        "_waiter", "after", "buffer_limit", "capacity", "close_code", "close_reason", "closed",
        "frames", "pending", "pending_count", "rule", "write",
    )  # fmt: skip

    def __init__(self, rule: Filter, capacity: int, buffer_limit: int) -> None:
        self.rule = rule
        self.capacity = capacity
        self.buffer_limit = buffer_limit
        self.frames: deque[Frame] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.write: RawSend | None = None
        # Raw frames staged for the hub's next flush, and the detections they hold.
        self.pending: list[bytes] = []
        self.pending_count = 0
        # Resume watermark: live items at or below it were already covered by the replay.
        self.after: StreamKey | None = None
        self.closed = asyncio.Event()
        self.close_code = 1000
        self.close_reason = ""

    def stage(self, frame: Frame) -> bool:
        """Stage a live frame for the raw flush; True if it is the first one staged."""
        if self._all_unseen(frame):
            wire, count = frame.wire, len(frame.items)  # the shared bytes: the common case
        else:  # a resumed client, and a live batch overlapping its replay
            items = self._unseen((frame,))
            if not items:
                return False
            wire, count = text_frame(encode_items(items)), len(items)
        pending = self.pending
        pending.append(wire)
        self.pending_count += count
        return len(pending) == 1

    def _all_unseen(self, frame: Frame) -> bool:
        """Whether the whole frame is past the resume watermark (the usual case)."""
        return self.after is None or self.after < frame.low

    def _unseen(self, frames: Sequence[Frame]) -> list[Item]:
        """The detections of ``frames`` past the resume watermark, in order: what the
        replay did not already send (all of them when there was no replay)."""
        after = self.after
        return [
            item
            for frame in frames
            if after is None or after < frame.high
            for item in frame.items
            if after is None or after < item.key
        ]

    def offer(self, frame: Frame) -> bool:
        """Queue a frame without waiting; False when the queue is full (the client is slow)."""
        if len(self.frames) >= self.capacity:
            return False
        self.frames.append(frame)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        return True

    def close(self, code: int, reason: str) -> None:
        if not self.closed.is_set():
            self.close_code, self.close_reason = code, reason
            self.closed.set()

    async def pump(self, send: Callable[[str], Awaitable[None]], metrics: Metrics) -> None:
        """Send queued frames until cancelled; the only place this client's socket is awaited.

        A client that keeps up gets one message per batch.  One that falls behind gets
        the frames queued meanwhile merged into one message (up to ``MERGE_LIMIT``), so
        the cost per detection drops exactly when the gateway is busy.
        """
        queued, tally, loop = self.frames, metrics.sent, asyncio.get_running_loop()
        while True:
            if not queued:
                self._waiter = loop.create_future()
                try:
                    await self._waiter
                finally:
                    self._waiter = None
                continue
            frames = [queued.popleft() for _ in range(min(len(queued), MERGE_LIMIT))]
            if len(frames) == 1 and self._all_unseen(frames[0]):
                text, count = frames[0].text, len(frames[0].items)
            else:
                items = self._unseen(frames)
                if not items:
                    continue
                text, count = encode_items(items).decode(), len(items)
            await send(text)
            tally.add(count)


class Hub:
    def __init__(self, redis: Redis, channel: str, metrics: Metrics) -> None:
        self.redis = redis
        self.channel = channel
        self.metrics = metrics
        self.by_rule: dict[Filter, set[Client]] = {}
        self.count = 0
        self.dropped: Counter[str] = Counter()
        self.subscribed = False
        self._ready = asyncio.Event()
        self._dirty: list[Client] = []  # raw clients with frames staged
        self._flush_handle: asyncio.Handle | None = None

    # Clients.

    def register(self, client: Client) -> bool:
        """Start queueing live frames for ``client``; False (and closed) if the feed is down.

        A client registered while the subscription is down would silently miss what is
        published until it is back, so it is told to reconnect and resume instead.
        """
        if not self.subscribed:
            self.drop(client, *INTERRUPTED, "feed_interrupted")
            return False
        self.by_rule.setdefault(client.rule, set()).add(client)
        self.count += 1
        return True

    def go_raw(self, client: Client, write: RawSend) -> None:
        """From now on write ``client``'s frames to its socket, the queued ones first.

        Call it right after the connection's last ASGI send returned, with no await in
        between: the queued frames are staged before any later batch, so the client
        gets every frame once and in order, and nothing is written through ASGI again
        until the hub has dropped the client.
        """
        client.write = write
        queued = client.frames
        while queued:
            if client.stage(queued.popleft()):
                self._dirty.append(client)
        self._schedule_flush()

    def unregister(self, client: Client) -> None:
        members = self.by_rule.get(client.rule)
        if members is None or client not in members:
            return
        members.discard(client)
        self.count -= 1
        if not members:
            del self.by_rule[client.rule]

    def drop(self, client: Client, code: int, reason: str, label: str) -> None:
        """Disconnect ``client`` (its handler closes the socket) and count why."""
        self.unregister(client)
        if not client.closed.is_set():
            client.close(code, reason)
            self.dropped[label] += 1
            self.metrics.clients_dropped.labels(label).inc()

    def drop_all(self, code: int, reason: str, label: str) -> None:
        for members in list(self.by_rule.values()):
            for client in list(members):
                self.drop(client, code, reason, label)

    def close_all(self, code: int, reason: str) -> None:
        """Shutdown: close everyone without counting it as a drop."""
        for members in list(self.by_rule.values()):
            for client in list(members):
                self.unregister(client)
                client.close(code, reason)

    # Fan-out.

    def dispatch(self, payload: bytes) -> None:
        """Hand one live batch to every client; never awaits."""
        self.metrics.live_batches.inc()
        if not self.count:
            return
        items, skipped = decode_batch(payload)
        if skipped:
            self.metrics.live_skipped.inc(skipped)
        if not items:
            return
        dirty = self._dirty
        for rule, members in list(self.by_rule.items()):
            chosen = select(rule, items)
            if not chosen:
                continue
            frame = Frame(chosen)
            for client in list(members):
                if client.write is None:
                    if not client.offer(frame):
                        self.drop(client, *TOO_SLOW, "slow")
                elif client.stage(frame):
                    dirty.append(client)
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        """Flush once this pass of the event loop is done, not per batch.

        Every batch that arrived in one read from Redis (several when the gateway falls
        behind) then leaves in one write per client: one system call instead of one per
        batch, and no added wait when it keeps up.
        """
        if self._dirty and self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        dirty, self._dirty = self._dirty, []
        tally, limit_hit = self.metrics.sent, []
        for client in dirty:
            frames, count = client.pending, client.pending_count
            client.pending, client.pending_count = [], 0
            if client.closed.is_set() or client.write is None:
                continue  # dropped since it was staged
            try:
                unsent = client.write(frames)
            except Exception:  # one broken socket must not stop the others' flush
                log.exception("live write failed; closing that client")
                unsent = -1
            if unsent < 0:
                # Closing: stop filtering and staging for it, and let its handler close
                # (or abort) the socket rather than wait for a peer that may never answer.
                self.unregister(client)
                client.close(*CLOSING)
                continue
            tally.add_many(len(frames), count)
            if unsent > client.buffer_limit:
                limit_hit.append(client)
        for client in limit_hit:
            self.drop(client, *TOO_SLOW, "slow")

    # The subscription.

    async def wait_subscribed(self, within_s: float) -> bool:
        with suppress(TimeoutError):
            async with asyncio.timeout(within_s):
                await self._ready.wait()
        return self.subscribed

    def _set_subscribed(self, value: bool) -> None:
        self.subscribed = value
        if value:
            self._ready.set()
        else:
            self._ready.clear()

    async def run(self) -> None:
        """Subscribe and dispatch until cancelled, resubscribing after failures."""
        backoff = 0.1
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                confirmations = 0
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is None:
                        continue
                    kind = message["type"]
                    if kind == "message":
                        try:
                            self.dispatch(message["data"])
                        except Exception:  # a bug must not end the subscription
                            log.exception("live batch dropped: dispatch failed")
                    elif kind == "subscribe":
                        confirmations += 1
                        if confirmations > 1:
                            # redis-py reconnected and resubscribed by itself: anything
                            # published in between never reached us.
                            log.warning("live channel resubscribed; closing clients to resume")
                            self.drop_all(*INTERRUPTED, "feed_interrupted")
                        self._set_subscribed(True)
                        backoff = 0.1
            except (RedisError, OSError) as error:
                log.warning("live channel subscription failed: %s", error)
                self._set_subscribed(False)
                self.drop_all(*INTERRUPTED, "feed_interrupted")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                with suppress(Exception):
                    await pubsub.aclose()
