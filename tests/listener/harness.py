"""Driving the Telegram listener without Telegram.

Live updates go through a real ``TelegramClient`` (built by the listener's own
``make_client`` with a StringSession of a freshly generated auth key, never
connected): the test puts real ``telethon.tl.types`` update containers on the
client's updates queue, exactly where Telethon's network receive loop puts
them, and Telethon's own ``_update_loop`` runs them through its MessageBox
(pts ordering), entity cache and event dispatch into the listener's handlers.

Everything that would need the network — connecting, resolving chats, the
history fetch after a gap — goes through ``FakeTelegram``, the listener's
``TelegramApi`` seam, scripted by the test.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import redis.asyncio as aioredis
from telethon import errors
from telethon.crypto import AuthKey
from telethon.sessions import StringSession
from telethon.tl import types

from telesniff import contract, keys
from telesniff.contract import Entry
from telesniff.listener.telegram.api import ChatInfo, ChatNotFound
from telesniff.listener.telegram.telethon_api import make_client
from telesniff.settings import Settings

API_ID = 1234567
API_HASH = "0123456789abcdef0123456789abcdef"
SELF_ID = 900_000_001
SOLANA = "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr"
EVM = "0x52908400098527886E0F7030069857D2E4169EE7"


def make_session() -> str:
    """A syntactically real StringSession (random 2048-bit auth key); no account behind it."""
    session = StringSession()
    session.set_dc(2, "149.154.167.51", 443)
    session.auth_key = AuthKey(os.urandom(256))
    return str(session.save())


def settings(session: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_session": session,
        "telegram_api_id": API_ID,
        "telegram_api_hash": API_HASH,
        "catch_up_limit": 100,
        "lease_ttl_s": 30,
        "listener_batch": 50,
    }
    values.update(overrides)
    return Settings(**values)


def telegram_client(session: str) -> Any:
    client = make_client(session, API_ID, API_HASH)
    # Dispatch asks Telegram who "self" is unless the entity cache knows (it would after login).
    client._mb_entity_cache.set_self_user(SELF_ID, False, 1)
    return client


def user(user_id: int, username: str | None = None) -> Any:
    return types.User(id=user_id, access_hash=user_id * 7, first_name="Caller", username=username)


def _now() -> datetime:
    return datetime.fromtimestamp(int(time.time()), UTC)


@dataclass
class Channel:
    """A supergroup or channel, and the updates Telegram would send for it."""

    channel_id: int
    title: str
    username: str | None = None
    pts: int = 1000

    @property
    def entity(self) -> Any:
        return types.Channel(
            id=self.channel_id, title=self.title, photo=types.ChatPhotoEmpty(), date=_now(),
            megagroup=True, access_hash=self.channel_id * 3, username=self.username,
        )  # fmt: skip

    @property
    def info(self) -> ChatInfo:
        return ChatInfo(
            id=-(10**12 + self.channel_id), kind="channel", access_hash=self.channel_id * 3,
            title=self.title, username=self.username,
        )  # fmt: skip

    def message(self, message_id: int, text: str, sender: Any | None = None, **extra: Any) -> Any:
        return types.Message(
            id=message_id, peer_id=types.PeerChannel(self.channel_id), date=_now(), message=text,
            from_id=types.PeerUser(sender.id) if sender is not None else None, **extra,
        )  # fmt: skip

    def new(self, message: Any, *users: Any) -> Any:
        self.pts += 1
        update = types.UpdateNewChannelMessage(message, pts=self.pts, pts_count=1)
        return types.Updates([update], list(users), [self.entity], _now(), 0)

    def edit(self, message: Any, *users: Any) -> Any:
        self.pts += 1
        update = types.UpdateEditChannelMessage(message, pts=self.pts, pts_count=1)
        return types.Updates([update], list(users), [self.entity], _now(), 0)


@dataclass
class BasicGroup:
    """A basic group: its updates use the account-wide pts (UpdateNewMessage, UpdateEditMessage)."""

    chat_id: int
    title: str
    account: dict[str, int]  # the account's pts, shared by all basic groups and private chats

    @property
    def entity(self) -> Any:
        return types.Chat(id=self.chat_id, title=self.title, photo=types.ChatPhotoEmpty(),
                          participants_count=3, date=_now(), version=1)  # fmt: skip

    @property
    def info(self) -> ChatInfo:
        return ChatInfo(id=-self.chat_id, kind="chat", title=self.title)

    def message(self, message_id: int, text: str, sender: Any, **extra: Any) -> Any:
        return types.Message(id=message_id, peer_id=types.PeerChat(self.chat_id), date=_now(),
                             message=text, from_id=types.PeerUser(sender.id), **extra)  # fmt: skip

    def new_short(self, message: Any) -> Any:
        """One update without entities, as Telegram sends it when the client knows them."""
        self.account["pts"] += 1
        update = types.UpdateNewMessage(message, pts=self.account["pts"], pts_count=1)
        return types.UpdateShort(update, _now())

    def edit(self, message: Any, *users: Any) -> Any:
        self.account["pts"] += 1
        update = types.UpdateEditMessage(message, pts=self.account["pts"], pts_count=1)
        return types.Updates([update], list(users), [self.entity], _now(), 0)


@dataclass
class FakeTelegram:
    """The ``TelegramApi`` seam, scripted: chats, history, failures, FLOOD_WAITs."""

    client: Any
    usernames: dict[str, ChatInfo] = field(default_factory=dict)
    invites: dict[str, ChatInfo] = field(default_factory=dict)
    dialog_list: list[ChatInfo] = field(default_factory=list)
    posted: dict[int, list[Any]] = field(default_factory=dict)  # chat id → its history
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    connect_failures: int = 0  # the next N connects fail as if the network were down
    floods: dict[str, list[int]] = field(default_factory=dict)  # method → waits to demand
    on_history: Callable[[ChatInfo], Awaitable[None]] | None = None
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    _lost: asyncio.Event = field(default_factory=asyncio.Event)

    def _flood(self, method: str) -> None:
        waits = self.floods.get(method)
        if waits:
            raise errors.FloodWaitError(request=None, capture=waits.pop(0))

    async def connect(self) -> None:
        self.calls.append(("connect",))
        if self.connect_failures:
            self.connect_failures -= 1
            raise ConnectionError("network is unreachable")
        # What TelegramClient.connect does for updates, minus the socket: the sender
        # counts as connected, so Telethon's own update loop runs and dispatches.
        self.client._sender._user_connected = True
        self.client._updates_handle = asyncio.create_task(self.client._update_loop())
        self._lost = asyncio.Event()
        self.connected.set()

    async def _stop_updates(self) -> None:
        self.connected.clear()
        self.client._sender._user_connected = False
        handle = self.client._updates_handle
        if handle is not None:
            handle.cancel()
            await asyncio.gather(handle, return_exceptions=True)

    async def drop(self) -> None:
        """The network goes away: Telethon stops delivering and the source is told."""
        await self._stop_updates()
        self._lost.set()

    async def wait_disconnected(self) -> None:
        await self._lost.wait()

    async def disconnect(self) -> None:
        self.calls.append(("disconnect",))
        await self._stop_updates()

    def feed(self, updates: Any) -> None:
        """Hand Telethon an update container, where its network receive loop would."""
        self.client._updates_queue.put_nowait(updates)

    async def resolve_username(self, username: str) -> ChatInfo:
        self.calls.append(("resolve_username", username))
        self._flood("resolve_username")
        if username not in self.usernames:
            raise ChatNotFound("no chat or user has this username")
        return self.usernames[username]

    async def check_invite(self, invite_hash: str) -> ChatInfo:
        self.calls.append(("check_invite", invite_hash))
        self._flood("check_invite")
        if invite_hash not in self.invites:
            raise ChatNotFound("the invite link is invalid or expired")
        return self.invites[invite_hash]

    async def dialogs(self) -> list[ChatInfo]:
        self.calls.append(("dialogs",))
        self._flood("dialogs")
        return list(self.dialog_list)

    async def history(self, chat: ChatInfo, min_id: int, limit: int) -> Sequence[Any]:
        self.calls.append(("history", chat.id, min_id, limit))
        self._flood("history")
        if self.on_history is not None:
            await self.on_history(chat)
        newer = [message for message in self.posted.get(chat.id, []) if message.id > min_id]
        return sorted(newer, key=lambda message: message.id, reverse=True)[:limit]

    def network_calls(self, method: str) -> list[tuple[Any, ...]]:
        return [call for call in self.calls if call[0] == method]


@dataclass
class FakeClock:
    """Time that moves only when something sleeps; every sleep is recorded."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)
    during_sleep: Callable[[float], None] | None = None

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.during_sleep is not None:
            self.during_sleep(seconds)
        self.now += seconds
        await asyncio.sleep(0)


async def never(_: float) -> None:
    """A lease-renewal sleep that does not come back during a test."""
    await asyncio.Event().wait()


async def stream_entries(redis: aioredis.Redis, stream: str) -> list[Entry]:
    raw = cast(list[tuple[bytes, dict[bytes, bytes]]], await redis.xrange(stream))
    return [contract.decode_fields(fields) for _, fields in raw]


async def high_water(redis: aioredis.Redis, group: str) -> dict[int, int]:
    stored = await redis.hgetall(keys.high_water(group))
    return {int(chat): int(message) for chat, message in stored.items()}
