"""Per-chat high-water marks in Redis: where each chat's catch-up starts.

The StreamWriter advances the marks as it appends (after the entries are in
the stream); this reads them at start and seeds the mark of a chat seen for
the first time.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from telesniff import keys
from telesniff.listener.service import load_high_water


@dataclass
class MarkStore:
    redis: aioredis.Redis
    group: str

    async def load(self) -> dict[int, int]:
        return await load_high_water(self.redis, self.group)

    async def seed(self, chat_id: int, message_id: int) -> None:
        # HSETNX: never lower a mark the writer has already advanced.
        await self.redis.hsetnx(keys.high_water(self.group), str(chat_id), str(message_id))
