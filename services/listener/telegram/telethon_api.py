"""``TelegramApi`` over a real Telethon client, and the client the listener uses."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from telethon import TelegramClient, errors, functions, types, utils
from telethon.sessions import StringSession

from telesniff import __version__
from telesniff.listener.telegram.api import ChatInfo, ChatNotFound, ListenerError, chat_info

log = logging.getLogger(__name__)


def make_client(session: str, api_id: int, api_hash: str) -> Any:
    """A client for one listener.

    - ``sequential_updates``: updates reach the handlers one at a time, in
      order, so per-chat order and de-duplication by message id hold;
    - ``auto_reconnect=False``: the source reconnects itself, with backoff,
      so it knows when to catch up;
    - ``flood_sleep_threshold=0``: every FLOOD_WAIT reaches ``FloodGuard``,
      which waits it out visibly (metrics, logs) instead of silently.
    """
    return TelegramClient(
        StringSession(session),
        api_id,
        api_hash,
        receive_updates=True,
        sequential_updates=True,
        auto_reconnect=False,
        connection_retries=1,
        flood_sleep_threshold=0,
        catch_up=False,
        device_model="telesniff listener",
        app_version=__version__,
    )


class TelethonApi:
    def __init__(self, client: Any) -> None:
        self._client = client
        self._connected_before = False

    async def connect(self) -> None:
        if self._connected_before:
            # After a drop Telethon's update loop may still be parked; a second one
            # would compete for updates, so tear everything down first.
            await self._client.disconnect()
        await self._client.connect()
        self._connected_before = True
        if not await self._client.is_user_authorized():
            await self._client.disconnect()
            raise ListenerError(
                "the Telegram session is not authorized (never completed, logged out or "
                "revoked); create a new one with `telesniff login`"
            )

    async def wait_disconnected(self) -> None:
        try:
            await self._client.disconnected
        except Exception as error:  # the reason the connection ended; the source reconnects
            log.info("Telegram connection ended: %s", type(error).__name__)

    async def disconnect(self) -> None:
        await self._client.disconnect()

    async def resolve_username(self, username: str) -> ChatInfo:
        try:
            result = await self._client(functions.contacts.ResolveUsernameRequest(username))
        except (errors.UsernameNotOccupiedError, errors.UsernameInvalidError):
            raise ChatNotFound("no chat or user has this username") from None
        wanted = utils.get_peer_id(result.peer)
        for entity in [*result.chats, *result.users]:
            if utils.get_peer_id(entity) == wanted:
                return chat_info(entity)
        raise ChatNotFound("Telegram resolved the username but sent no chat for it")

    async def check_invite(self, invite_hash: str) -> ChatInfo:
        try:
            result = await self._client(functions.messages.CheckChatInviteRequest(invite_hash))
        except (errors.InviteHashExpiredError, errors.InviteHashInvalidError,
                errors.InviteHashEmptyError):  # fmt: skip
            raise ChatNotFound("the invite link is invalid or expired") from None
        if isinstance(result, types.ChatInviteAlready):
            return chat_info(result.chat)
        raise ChatNotFound(
            "the account is not a member of this chat; join it with the account first "
            "(the listener never joins chats by itself)"
        )

    async def dialogs(self) -> list[ChatInfo]:
        return [chat_info(dialog.entity) async for dialog in self._client.iter_dialogs()]

    async def history(self, chat: ChatInfo, min_id: int, limit: int) -> Sequence[Any]:
        messages = await self._client.get_messages(chat.input_peer(), limit=limit, min_id=min_id)
        return list(messages)
