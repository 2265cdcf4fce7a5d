"""The Telegram message source: live updates, and catch-up after every gap.

Order of events for each connection (the first one and every reconnect):

1. connect (exponential backoff while the network is down);
2. on the first connection only, resolve the configured chats (resolve.py);
3. per chat, catch up: fetch what was posted after the high-water mark
   (the newest ``catch_up_limit`` messages, handed over oldest first), while
   live messages for that chat are held back; then release the held ones,
   dropping those the history already delivered (same message id);
4. live until the connection drops; then back to 1.

A chat seen for the first time has no mark: its newest message id becomes
the mark (nothing old is replayed), so a later restart knows where it was.

``delivered`` marks (the highest message id handed to the sink per chat)
also de-duplicate Telethon's own gap filling after a reconnect: a new
message at or below the mark is never handed over twice.  Edits always are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict, deque
from collections.abc import Sequence
from typing import Any, Final

from telethon import errors, events

from telesniff.listener import metrics
from telesniff.listener.flood import Backoff, Clock, FloodGuard, Pacer
from telesniff.listener.source import Incoming, Sink
from telesniff.listener.telegram.api import ChatInfo, ListenerError, TelegramApi
from telesniff.listener.telegram.convert import Usernames, to_incoming
from telesniff.listener.telegram.marks import MarkStore
from telesniff.listener.telegram.resolve import Resolver

log = logging.getLogger(__name__)

# Transient: retried with backoff.  Anything else from Telegram is a bug or fatal.
NETWORK_ERRORS: Final = (OSError, asyncio.TimeoutError, errors.ServerError, errors.TimedOutError)
_STOP: Final = object()


class TelegramSource:
    # Sets telesniff_listener_connected itself (run_listener does it for sources that don't).
    reports_connection = True

    def __init__(
        self,
        *,
        client: Any,
        api: TelegramApi,
        chats: list[str | int],
        resolver: Resolver,
        marks: MarkStore,
        guard: FloodGuard,
        catch_up_limit: int,
        clock: Clock,
        backoff: Backoff | None = None,
        history_pacer: Pacer | None = None,
        queue_size: int = 10_000,
    ) -> None:
        self._client = client
        self._api = api
        self._refs = chats
        self._resolver = resolver
        self._marks = marks
        self._guard = guard
        self._group = guard.group
        self._limit = catch_up_limit
        self._clock = clock
        self._backoff = backoff or Backoff()
        self._history_pacer = history_pacer or Pacer(0.2, clock)
        # Bounded: when the writer stalls, Telethon's (sequential) dispatch waits here.
        self._live: asyncio.Queue[Incoming | object] = asyncio.Queue(maxsize=queue_size)
        self._chats: dict[int, ChatInfo] = {}
        self._delivered: dict[int, int] = {}
        self._caught_up: set[int] = set()
        self._held: defaultdict[int, deque[Incoming]] = defaultdict(deque)
        self._sink: Sink | None = None
        self.connected = False
        self.duplicates = 0
        self.received = 0  # messages from configured chats taken from Telethon
        self._usernames = Usernames()

    @property
    def caught_up(self) -> bool:
        return self.connected and len(self._caught_up) == len(self._chats) > 0

    def status(self) -> dict[str, Any]:
        return {"connected": self.connected, "caught_up": self.caught_up,
                "floodwait": self._guard.waiting}  # fmt: skip

    async def run(self, sink: Sink) -> None:
        self._sink = sink
        self._delivered = await self._marks.load()
        new, edited = events.NewMessage(), events.MessageEdited()
        self._client.add_event_handler(self._on_new, new)
        self._client.add_event_handler(self._on_edit, edited)
        pump = asyncio.create_task(self._pump(), name=f"telegram-pump-{self._group}")
        connection = asyncio.create_task(self._connection_loop(), name=f"telegram-{self._group}")
        try:
            done, _ = await asyncio.wait({pump, connection}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # both run forever: whichever ended has failed
        finally:
            connection.cancel()
            await asyncio.gather(connection, return_exceptions=True)
            # Stop receiving first, then hand over everything already received.
            self._client.remove_event_handler(self._on_new, new)
            self._client.remove_event_handler(self._on_edit, edited)
            with contextlib.suppress(*NETWORK_ERRORS, errors.RPCError):
                await self._api.disconnect()
            self._set_connected(False)
            await self._finish(pump)

    # Telethon's dispatch calls these, one update at a time (sequential_updates=True).

    async def _on_new(self, event: Any) -> None:
        await self._receive(event, edit=False)

    async def _on_edit(self, event: Any) -> None:
        await self._receive(event, edit=True)

    async def _receive(self, event: Any, *, edit: bool) -> None:
        chat = self._chats.get(event.chat_id)
        if chat is None:
            return  # not a configured chat (or chats not resolved yet: catch-up covers it)
        # Telethon keeps the update's users and chats on the event (there is no public accessor).
        self._usernames.learn((getattr(event, "_entities", None) or {}).values())
        incoming = to_incoming(
            event.message, chat, edit=edit, backfill=False, usernames=self._usernames
        )
        if incoming is not None:
            await self._live.put(incoming)
            self.received += 1

    async def _pump(self) -> None:
        while True:
            item = await self._live.get()
            if item is _STOP:
                return
            assert isinstance(item, Incoming)
            if item.chat_id in self._caught_up:
                await self._deliver(item)
            else:
                self._held[item.chat_id].append(item)

    async def _deliver(self, message: Incoming) -> bool:
        """Hand over unless it is a new message at or below the chat's mark."""
        assert self._sink is not None
        if not message.edit:
            mark = self._delivered.get(message.chat_id)
            if mark is not None and message.message_id <= mark:
                self.duplicates += 1
                return False
            self._delivered[message.chat_id] = message.message_id
        await self._sink(message)
        return True

    async def _connection_loop(self) -> None:
        chats: list[ChatInfo] | None = None
        while True:
            try:
                await self._api.connect()
                if chats is None:
                    chats = await self._resolver.resolve(self._refs)
                    self._chats = {chat.id: chat for chat in chats}
                self._set_connected(True)
                log.info("connected to Telegram; catching up %d chat(s)", len(chats))
                for chat in chats:
                    await self._catch_up(chat)
                self._backoff.reset()
                log.info("caught up; live")
                await self._api.wait_disconnected()
                log.warning("connection to Telegram lost")
            except NETWORK_ERRORS as error:
                log.warning("Telegram connection failed: %s: %s", type(error).__name__, error)
            except errors.UnauthorizedError as error:
                raise ListenerError(
                    f"Telegram refused the session ({type(error).__name__}): it was logged out "
                    "or revoked; create a new one with `telesniff login`"
                ) from None
            self._set_connected(False)
            # Until each chat is caught up again, its live messages wait (and get de-duplicated).
            self._caught_up.clear()
            delay = self._backoff.next_delay()
            log.info("reconnecting in %.1fs", delay)
            await self._clock.sleep(delay)

    async def _catch_up(self, chat: ChatInfo) -> None:
        mark = self._delivered.get(chat.id)
        try:
            if mark is None:
                newest = await self._history(chat, 0, 1)
                top = max((int(message.id) for message in newest), default=0)
                self._delivered[chat.id] = top
                await self._marks.seed(chat.id, top)
                log.info("chat %d: first start, listening from message %d on", chat.id, top)
            elif self._limit > 0:
                await self._recover(chat, mark)
        except (errors.BadRequestError, errors.ForbiddenError) as error:
            # E.g. the account was removed from the chat: nothing to fetch, but the others go on.
            log.error("chat %d: cannot fetch history (%s); skipping its catch-up",
                      chat.id, type(error).__name__)  # fmt: skip
        held = self._held[chat.id]
        while held:
            await self._deliver(held.popleft())
        # No await between the emptiness check and this: nothing can slip in between.
        del self._held[chat.id]
        self._caught_up.add(chat.id)

    async def _recover(self, chat: ChatInfo, mark: int) -> None:
        fetched = await self._history(chat, mark, self._limit)
        if len(fetched) >= self._limit:
            log.warning(
                "chat %d: more than %d messages since message %d; the older ones are skipped "
                "(raise TELESNIFF_CATCH_UP_LIMIT to fetch more)", chat.id, self._limit, mark,
            )  # fmt: skip
        recovered = 0
        for raw in sorted(fetched, key=lambda message: int(message.id)):
            if int(raw.id) <= mark:
                continue
            incoming = to_incoming(raw, chat, edit=False, backfill=True, usernames=self._usernames)
            if incoming is not None and await self._deliver(incoming):
                recovered += 1
        metrics.GAP_RECOVERED.labels(self._group).inc(recovered)
        if recovered:
            log.info("chat %d: recovered %d message(s) posted since message %d",
                     chat.id, recovered, mark)  # fmt: skip

    async def _history(self, chat: ChatInfo, min_id: int, limit: int) -> Sequence[Any]:
        await self._history_pacer.wait()
        return await self._guard.call(
            f"fetching the history of chat {chat.id}",
            lambda: self._api.history(chat, min_id, limit),
        )

    def _set_connected(self, connected: bool) -> None:
        self.connected = connected
        metrics.CONNECTED.labels(self._group).set(1 if connected else 0)

    async def _finish(self, pump: asyncio.Task[None]) -> None:
        """Deliver what was received before the stop; only what catch-up refetches is left."""
        if pump.done():
            return  # it failed, and run() raises that
        await self._live.put(_STOP)
        await pump  # hands over everything queued for chats that are live
        left = 0
        for held in self._held.values():
            for message in held:
                if message.edit:
                    await self._deliver(message)  # edits do not move the mark
                else:
                    left += 1  # above the mark: the next start's catch-up fetches it
        self._held.clear()
        if left:
            log.info("%d message(s) received during an unfinished catch-up are left for "
                     "the next start's catch-up", left)  # fmt: skip
