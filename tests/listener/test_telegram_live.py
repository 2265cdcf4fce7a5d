"""Live updates through Telethon's own dispatch into the stream (real Redis and Valkey)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from telethon.tl import types

from telesniff.groupspec import GroupSpec
from tests.listener.conftest import Rig
from tests.listener.harness import (
    EVM,
    SOLANA,
    BasicGroup,
    Channel,
    high_water,
    stream_entries,
    user,
)
from tests.waiting import until


async def test_new_messages_and_edits_from_channels_reach_the_stream(
    rig: Callable[..., Rig], redis: aioredis.Redis
) -> None:
    alpha = Channel(1700000001, "Alpha Calls", username="alphacalls")
    r = rig(GroupSpec(chats=["@alphacalls"]))
    r.api.usernames["alphacalls"] = alpha.info
    r.api.posted[alpha.info.id] = [alpha.message(10, "old chatter")]
    r.start()
    await r.live()

    caller = user(5100001, "ansem_calls")
    call = alpha.message(11, f"CA: {SOLANA}", caller)
    r.api.feed(alpha.new(call, caller))
    r.api.feed(alpha.new(alpha.message(12, "gm", caller), caller))
    fixed = alpha.message(11, f"fixed CA: {EVM}", caller, edit_date=call.date)
    r.api.feed(alpha.edit(fixed, caller))

    stream = r.settings.stream
    await until(lambda: _count(redis, stream, 2), "the call and its edit")
    first, edit = await stream_entries(redis, stream)
    assert (first.chat_id, first.message_id, first.edit) == (alpha.info.id, 11, False)
    assert [m.value for m in first.matches] == [SOLANA]
    assert (first.sender_id, first.sender, first.chat) == (5100001, "ansem_calls", "Alpha Calls")
    assert first.group == r.group.name
    assert (edit.message_id, edit.edit) == (11, True)
    assert [m.value for m in edit.matches] == [EVM]  # detection ran again on the new text
    await until(
        lambda: _equals(high_water(redis, r.group.name), {alpha.info.id: 12}), "the mark at 12"
    )
    await r.halt()


async def _count(redis: aioredis.Redis, stream: str, n: int) -> bool:
    return len(await stream_entries(redis, stream)) >= n


async def _equals(value: Any, expected: Any) -> bool:
    return bool(await value == expected)


async def test_basic_groups_short_updates_links_buttons_and_filters(
    rig: Callable[..., Rig], redis: aioredis.Redis
) -> None:
    account = {"pts": 500}
    group = BasicGroup(4242, "Degen Lounge", account)
    other = Channel(1700000099, "Not Configured")
    r = rig(GroupSpec(chats=[str(group.info.id)], senders={"deny": ["@spammer"]}))
    r.api.dialog_list = [other.info, group.info]  # numeric ids are found among the dialogs
    r.start()
    await r.live()

    caller, spammer = user(61, "caller"), user(62, "spammer")
    # Entities first arrive in a full Updates; later short updates rely on Telethon's cache.
    r.api.feed(group.edit(group.message(1, "warm-up", caller), caller, spammer))
    chart = f"https://dexscreener.com/solana/{SOLANA}"
    linked = group.message(
        2, "chart here",  caller,
        entities=[types.MessageEntityTextUrl(offset=0, length=5, url=chart)],
    )  # fmt: skip
    buy = f"https://jup.ag/swap/SOL-{SOLANA}"
    button = group.message(
        3, "new call, tap to buy", caller,
        reply_markup=types.ReplyInlineMarkup([
            types.KeyboardInlineButtonRow([
                types.KeyboardInlineButton("Buy", types.InlineButtonTypeUrl(buy)),
            ]),
        ]),
    )  # fmt: skip
    r.api.feed(group.new_short(linked))
    r.api.feed(group.new_short(button))
    r.api.feed(group.new_short(group.message(4, f"{SOLANA} to the moon", spammer)))
    r.api.feed(other.new(other.message(7, f"elsewhere {SOLANA}", caller), caller))
    service = types.MessageService(
        id=5, peer_id=types.PeerChat(group.chat_id), date=None,
        action=types.MessageActionChatEditTitle("renamed"),
    )  # fmt: skip
    r.api.feed(group.new_short(service))
    r.api.feed(group.new_short(group.message(6, f"last {EVM}", caller)))  # the marker

    stream = r.settings.stream
    await until(lambda: _count(redis, stream, 3), "three entries")
    entries = await stream_entries(redis, stream)
    assert [(e.message_id, e.edit) for e in entries] == [(2, False), (3, False), (6, False)]
    # Hidden link targets are scanned and shown: the visible text has no address at all.
    assert entries[0].text == f"chart here\n{chart}"
    assert {m.value for m in entries[0].matches} >= {SOLANA, chart}
    assert entries[1].text.endswith(buy)
    assert all(e.chat_id == -4242 and e.chat == "Degen Lounge" for e in entries)
    assert entries[0].sender == "caller"  # resolved from Telethon's entity cache
    # The denied sender's message, the other chat's and the service message left no entry,
    # but the denied one still counts as handled.
    assert await high_water(redis, r.group.name) == {-4242: 6}
    await r.halt()
