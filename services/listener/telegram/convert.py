"""Telethon messages → ``Incoming``, the same way for live updates and history."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any, Final

from telethon import utils
from telethon.tl import types

from telesniff.listener.source import Incoming
from telesniff.listener.telegram.api import ChatInfo
from telesniff.listener.text import with_hidden_links


def hidden_urls(message: Any) -> Iterator[str]:
    """URLs a reader does not see as text: text links and URL buttons (trading bots' "Buy")."""
    for entity in message.entities or ():
        if isinstance(entity, types.MessageEntityTextUrl) and entity.url:
            yield str(entity.url)
    markup = message.reply_markup
    if isinstance(markup, types.ReplyInlineMarkup):
        for row in markup.rows:
            for button in row.buttons:
                url = _button_url(button)
                if url:
                    yield url


# Telethon ≤1.44's layer has KeyboardButtonUrl(text, url); 1.45's has
# KeyboardInlineButton(text, type=InlineButtonTypeUrl(url)).
_URL_BUTTONS: Final = tuple(
    kind
    for kind in (
        getattr(types, "KeyboardButtonUrl", None),
        getattr(types, "InlineButtonTypeUrl", None),
    )
    if kind is not None
)


def _button_url(button: Any) -> str | None:
    for part in (button, getattr(button, "type", None)):
        if isinstance(part, _URL_BUTTONS) and part.url:
            return str(part.url)
    return None


def _username(entity: Any) -> str | None:
    name = getattr(entity, "username", None)
    if name:
        return str(name)
    for extra in getattr(entity, "usernames", None) or ():
        if extra.active:
            return str(extra.username)
    return None


class Usernames:
    """Sender id → username, learned from every update's entities (bounded, least recent out).

    Telegram sends short updates without the sender's user object when it
    thinks the client knows it, and Telethon's own cache keeps only access
    hashes, so without this a sender filter by username would miss them.
    """

    def __init__(self, size: int = 100_000) -> None:
        self._names: OrderedDict[int, str | None] = OrderedDict()
        self._size = size

    def learn(self, entities: Iterable[Any]) -> None:
        for entity in entities:
            if isinstance(entity, types.User | types.Channel) and not getattr(entity, "min", False):
                peer_id = int(utils.get_peer_id(entity))
                self._names[peer_id] = _username(entity)
                self._names.move_to_end(peer_id)
        while len(self._names) > self._size:
            self._names.popitem(last=False)

    def get(self, peer_id: int) -> str | None:
        return self._names.get(peer_id)


def to_incoming(
    message: Any,
    chat: ChatInfo,
    *,
    edit: bool,
    backfill: bool,
    usernames: Usernames | None = None,
) -> Incoming | None:
    """None for what carries no text to scan (service messages, deleted placeholders)."""
    if not isinstance(message, types.Message):
        return None
    when = message.edit_date if edit and message.edit_date else message.date
    sender_id = message.sender_id
    sender = _username(message.sender)
    if sender is None and sender_id is not None and usernames is not None:
        sender = usernames.get(int(sender_id))
    return Incoming(
        chat_id=chat.id,
        message_id=int(message.id),
        date=when.timestamp() if when else 0.0,
        text=with_hidden_links(message.message or "", hidden_urls(message)),
        sender_id=int(sender_id) if sender_id is not None else None,
        sender=sender,
        chat=chat.display,
        edit=edit,
        backfill=backfill,
    )
