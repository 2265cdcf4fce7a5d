"""Chat references → chats, once at start, without bursts of resolve calls.

Telegram limits username resolution hard (an account that resolves many
names quickly gets long FLOOD_WAITs, then bans), so:

- every resolved chat is cached in Redis per session (``keys.session_peers``): a
  restart resolves nothing over the network;
- the calls that remain are paced (one per ``Pacer.interval``) and each one
  goes through ``FloodGuard``, which waits out FLOOD_WAIT instead of failing;
- numeric ids cannot be resolved one by one (there is no access hash to ask
  with), so all of them are looked up in one listing of the account's dialogs.

Every reference that cannot be resolved is reported by name, together, and
the listener does not start.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis.asyncio as aioredis

from telesniff.groupspec import ChatRef, parse_chat_ref
from telesniff.listener.flood import FloodGuard, Pacer
from telesniff.listener.telegram.api import ChatInfo, ChatNotFound, ListenerError, TelegramApi

log = logging.getLogger(__name__)


def _cache_field(ref: ChatRef) -> str:
    return f"{ref.kind}:{ref.value}"


@dataclass
class Resolver:
    api: TelegramApi
    redis: aioredis.Redis
    cache_key: str
    guard: FloodGuard
    pacer: Pacer
    network_calls: int = 0  # how many resolve requests went to Telegram (for logs and tests)

    async def resolve(self, chats: list[str | int]) -> list[ChatInfo]:
        """The chats in spec order, each once; raise ListenerError naming every bad one."""
        refs = [(str(chat), parse_chat_ref(chat)) for chat in chats]
        cached = {
            (field.decode() if isinstance(field, bytes) else field): ChatInfo.from_json(value)
            for field, value in (await self.redis.hgetall(self.cache_key)).items()
        }
        found: dict[str, ChatInfo] = {}
        problems: list[str] = []
        by_id: list[tuple[str, ChatRef]] = []
        for name, ref in refs:
            field = _cache_field(ref)
            if field in found or any(_cache_field(other) == field for _, other in by_id):
                continue  # the same chat listed twice (or as two spellings of one link)
            if field in cached:
                found[field] = cached[field]
            elif ref.kind == "id":
                by_id.append((name, ref))
            else:
                try:
                    found[field] = await self._one(name, ref)
                except ChatNotFound as error:
                    problems.append(f"chat {name!r}: {error}")
        if by_id:
            await self._from_dialogs(by_id, found, problems)
        if problems:
            raise ListenerError("cannot resolve " + "; ".join(problems))
        fresh = {field: info.to_json() for field, info in found.items() if field not in cached}
        if fresh:
            await self.redis.hset(self.cache_key, mapping=fresh)  # type: ignore[arg-type]
        log.info(
            "resolved %d chat(s): %d from the cache, %d request(s) to Telegram",
            len(refs), len(refs) - len(fresh), self.network_calls,
        )  # fmt: skip
        unique = {found[_cache_field(ref)].id: found[_cache_field(ref)] for _, ref in refs}
        return list(unique.values())

    async def _one(self, name: str, ref: ChatRef) -> ChatInfo:
        await self.pacer.wait()
        self.network_calls += 1
        if ref.kind == "username":
            return await self.guard.call(
                f"resolving chat {name}", lambda: self.api.resolve_username(ref.value)
            )
        return await self.guard.call(
            f"checking the invite link of chat {name}", lambda: self.api.check_invite(ref.value)
        )

    async def _from_dialogs(
        self, wanted: list[tuple[str, ChatRef]], found: dict[str, ChatInfo], problems: list[str]
    ) -> None:
        await self.pacer.wait()
        self.network_calls += 1
        dialogs = await self.guard.call("listing the account's chats", self.api.dialogs)
        known = {info.id: info for info in dialogs}
        for name, ref in wanted:
            chat_id = ref.chat_id
            info = known.get(chat_id) if chat_id is not None else None
            if info is None:
                problems.append(
                    f"chat {name!r}: not among this account's chats; "
                    "the account must be a member (or use an @username or t.me link)"
                )
            else:
                found[_cache_field(ref)] = info
