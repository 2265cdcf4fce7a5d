"""Chats are resolved once, paced, cached per session; bad ones are named before anything runs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis.asyncio as aioredis

from telesniff.groupspec import GroupSpec
from telesniff.keys import session_peers
from telesniff.listener.telegram.api import ChatInfo, ListenerError, chat_info
from tests.listener.conftest import Rig
from tests.listener.harness import BasicGroup, Channel, user


async def test_resolution_is_paced_and_cached_across_restarts(
    rig: Callable[..., Rig], redis: aioredis.Redis
) -> None:
    chats = [Channel(1700000020 + n, f"Chat {n}", username=f"chatname{n}") for n in range(3)]
    private = Channel(1700000030, "Private Alpha")
    basic = BasicGroup(777, "Old Group", {"pts": 1})
    r = rig(GroupSpec(chats=[
        "@chatname0", "https://t.me/chatname1", "t.me/chatname2",
        "https://t.me/+AbCdEf_123", str(basic.info.id), "@chatname0",
    ]))  # fmt: skip
    for chat in chats:
        r.api.usernames[chat.username or ""] = chat.info
    r.api.invites["AbCdEf_123"] = private.info
    r.api.dialog_list = [basic.info, private.info]
    r.start()
    await r.live()
    await r.halt()

    network = [c for c in r.api.calls if c[0] in {"resolve_username", "check_invite", "dialogs"}]
    assert network == [
        ("resolve_username", "chatname0"), ("resolve_username", "chatname1"),
        ("resolve_username", "chatname2"), ("check_invite", "AbCdEf_123"), ("dialogs",),
    ]  # fmt: skip
    # One call per second at most: each call after the first waited out the pace (the fake
    # clock only moves when something sleeps, so each wait is the full interval).
    assert r.clock.sleeps[:4] == [1.0, 1.0, 1.0, 1.0]
    # Five distinct chats (one was listed twice), each seeded from its newest message.
    assert len(r.api.network_calls("history")) == 5
    assert await redis.hlen(session_peers(r.session)) == 5

    r.api.calls.clear()
    r.start()  # a restart: everything comes from the cache
    await r.live()
    await r.halt()
    assert not [c for c in r.api.calls if c[0] in {"resolve_username", "check_invite", "dialogs"}]


async def test_unresolvable_chats_are_all_named_and_nothing_is_fetched(
    rig: Callable[..., Rig], redis: aioredis.Redis
) -> None:
    known = Channel(1700000040, "Known", username="knownchat")
    r = rig(GroupSpec(chats=["@knownchat", "@nosuchchat", "-1009999999999", "t.me/+expired"]))
    r.api.usernames["knownchat"] = known.info
    r.start()
    assert r.task is not None
    with pytest.raises(ListenerError) as raised:
        await r.task
    message = str(raised.value)
    assert "chat '@nosuchchat': no chat or user has this username" in message
    assert "chat '-1009999999999': not among this account's chats" in message
    assert "chat 't.me/+expired': the invite link is invalid or expired" in message
    assert "knownchat" not in message
    assert r.api.network_calls("history") == []
    assert await redis.exists(session_peers(r.session)) == 0  # nothing half-cached


def test_chat_info_from_telethon_entities() -> None:
    channel = Channel(1234567890, "Calls", username="calls").entity
    assert chat_info(channel) == ChatInfo(
        id=-1001234567890, kind="channel", access_hash=1234567890 * 3, title="Calls",
        username="calls",
    )  # fmt: skip
    assert chat_info(BasicGroup(55, "Group", {}).entity).id == -55
    person = chat_info(user(99, "someone"))
    assert (person.id, person.kind, person.title, person.username) == (
        99,
        "user",
        "Caller",
        "someone",
    )
    again = ChatInfo.from_json(chat_info(channel).to_json())
    assert again.input_peer().channel_id == 1234567890
    assert again.input_peer().access_hash == 1234567890 * 3
