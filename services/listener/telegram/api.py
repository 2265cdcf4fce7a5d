"""The seam between the listener and Telegram's network.

``TelegramApi`` is everything the source asks of Telegram besides live
updates: connecting, resolving chats, and fetching history after a gap.
Production uses ``TelethonApi`` (telethon_api.py); tests drive the same
source with a scripted implementation while live updates still flow through
a real ``TelegramClient``'s own dispatch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

import orjson
from telethon import utils
from telethon.tl import types

ChatKind = Literal["channel", "chat", "user"]


class ListenerError(RuntimeError):
    """A problem retrying cannot fix (bad chat, unauthorized session); the message says what."""


class ChatNotFound(LookupError):
    """A chat reference that does not lead to a chat this account can read; says why."""


@dataclass(frozen=True, slots=True)
class ChatInfo:
    """A resolved chat: enough to build its input peer again without asking Telegram."""

    id: int  # the marked id Telethon uses: -100… channels, -N basic groups, N users
    kind: ChatKind
    access_hash: int | None = None
    title: str | None = None
    username: str | None = None

    @property
    def display(self) -> str | None:
        return self.title or self.username

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes | str) -> ChatInfo:
        return cls(**orjson.loads(raw))

    def input_peer(self) -> Any:
        bare, _ = utils.resolve_id(self.id)
        if self.kind == "channel":
            return types.InputPeerChannel(bare, self.access_hash or 0)
        if self.kind == "chat":
            return types.InputPeerChat(bare)
        return types.InputPeerUser(bare, self.access_hash or 0)


def chat_info(entity: Any) -> ChatInfo:
    """A ChatInfo from a Telethon User, Chat or Channel."""
    username = getattr(entity, "username", None)
    if not username and getattr(entity, "usernames", None):
        username = next((u.username for u in entity.usernames if u.active), None)
    if isinstance(entity, types.Channel | types.ChannelForbidden):
        kind: ChatKind = "channel"
    elif isinstance(entity, types.Chat | types.ChatForbidden | types.ChatEmpty):
        kind = "chat"
    else:
        kind = "user"
    title = getattr(entity, "title", None)
    if title is None and kind == "user":
        names = (getattr(entity, "first_name", None), getattr(entity, "last_name", None))
        title = " ".join(name for name in names if name) or None
    return ChatInfo(
        id=int(utils.get_peer_id(entity)),
        kind=kind,
        access_hash=getattr(entity, "access_hash", None),
        title=title,
        username=username,
    )


class TelegramApi(Protocol):
    async def connect(self) -> None:
        """Connect (again); raise ListenerError if the session is not authorized, OSError
        when the network is down."""

    async def wait_disconnected(self) -> None:
        """Return when the connection is lost (or closed)."""

    async def disconnect(self) -> None: ...

    async def resolve_username(self, username: str) -> ChatInfo:
        """Raise ChatNotFound when no public chat or user has this username."""

    async def check_invite(self, invite_hash: str) -> ChatInfo:
        """The chat behind an invite link; raise ChatNotFound unless the account is in it."""

    async def dialogs(self) -> list[ChatInfo]:
        """Every chat the account is in (how numeric ids are resolved)."""

    async def history(self, chat: ChatInfo, min_id: int, limit: int) -> Sequence[Any]:
        """Up to ``limit`` of the newest messages with id > ``min_id`` (Telethon messages,
        any order; service messages included)."""
