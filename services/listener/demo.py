"""A demo source of realistic chat traffic, for ``telesniff dev`` when no Telegram session is set.

Callers post fresh Solana and EVM contract addresses, links to token pages,
and a lot of chatter; a few addresses get picked up by several callers in
several chats within minutes (the signal the hot view exists for); now and
then a caller edits a post to fix a typo in the address.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

from telesniff.detect import base58, evm
from telesniff.listener.source import Incoming, Sink

_CHATS = (
    (-1001700000001, "Solana Alpha Calls"),
    (-1001700000002, "Degen Lounge"),
    (-1001700000003, "ETH Gem Hunters"),
    (-1001700000004, "Pump Sniper Club"),
    (-1001700000005, "Base Chain Degens"),
    (-1001700000006, "Whale Watch"),
)
_CALLERS = (
    (5100001, "ansem_calls"), (5100002, "solwhale"), (5100003, "gemfinder"),
    (5100004, "degen_dave"), (5100005, "cryptokaleo"), (5100006, None),
    (5100007, "pumpqueen"), (5100008, "0xsniper"), (5100009, "moonboi"),
)  # fmt: skip
_CHATTER = (
    "gm degens", "who's in?", "LFG 🚀🚀", "rugged again smh", "dev doxxed, looks clean",
    "chart looks bullish ngl", "taking profits here", "anyone got the CA?", "wen moon",
    "volume is insane rn", "jeets selling lol", "bought the dip", "this is going to 10m mc",
    "careful, top holders have 40%", "liquidity locked?", "ser pls", "ape responsibly",
)  # fmt: skip
_CALLS = (
    "🚨 NEW CALL 🚨\nCA: {sol}\nLP burned, mint revoked",
    "aping this one {sol} 🔥",
    "{sol}\n\nchart: https://dexscreener.com/solana/{sol}",
    "stealth launch on pump 👀 https://pump.fun/coin/{sol}",
    "CA_{sol} ← sending it",
    "birdeye https://birdeye.so/token/{sol}?chain=solana looks good",
    "ETH gem: {evm}\nhttps://dexscreener.com/ethereum/{evm}",
    "new token on base {evm} tax 0/0",
    "https://etherscan.io/token/{evm} contract verified ✅",
    "gmgn https://gmgn.ai/sol/token/{sol} smart money buying",
)  # fmt: skip
_PUMP = 0
for _char in "pump":
    _PUMP = _PUMP * 58 + base58.ALPHABET.index(_char)


def solana_address(rng: random.Random) -> str:
    """A valid-looking 32-byte address; pump.fun mints end in "pump", as real ones do."""
    number = rng.getrandbits(256) | (1 << 255)
    if rng.random() < 0.5:
        number = number - number % 58**4 + _PUMP
    return base58.encode(number.to_bytes(32, "big"))


def evm_address(rng: random.Random) -> str:
    return evm.to_checksum(rng.getrandbits(160).to_bytes(20, "big").hex())


@dataclass
class DemoSource:
    """``rate`` messages per second over ``chats`` chats, forever."""

    rate: float
    chats: tuple[tuple[int, str], ...] = _CHATS
    seed: int | None = None
    call_share: float = 0.35
    _rng: random.Random = field(init=False)
    _next_id: dict[int, int] = field(init=False, default_factory=dict)
    _hot: list[str] = field(init=False, default_factory=list)
    _recent: list[tuple[int, int, str, int, str | None]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    async def run(self, sink: Sink) -> None:
        interval = 1.0 / self.rate
        next_at = time.monotonic()
        while True:
            # Catch up in a burst when the loop fell behind instead of drifting slower.
            now = time.monotonic()
            while next_at <= now:
                await sink(self.next_message())
                next_at += interval
            await asyncio.sleep(next_at - now)

    def next_message(self) -> Incoming:
        rng = self._rng
        if self._recent and rng.random() < 0.03:
            return self._edit()
        chat_id, chat = rng.choice(self.chats)
        sender_id, sender = rng.choice(_CALLERS)
        message_id = self._next_id.get(chat_id, 1000) + 1
        self._next_id[chat_id] = message_id
        text = self._call_text() if rng.random() < self.call_share else rng.choice(_CHATTER)
        self._recent = [*self._recent[-50:], (chat_id, message_id, chat, sender_id, sender)]
        return Incoming(
            chat_id=chat_id, message_id=message_id, date=time.time(), text=text,
            sender_id=sender_id, sender=sender, chat=chat,
        )  # fmt: skip

    def _call_text(self) -> str:
        rng = self._rng
        if self._hot and rng.random() < 0.4:
            sol = rng.choice(self._hot)  # the same token, called again elsewhere
        else:
            sol = solana_address(rng)
            self._hot = [*self._hot[-4:], sol]
        return rng.choice(_CALLS).format(sol=sol, evm=evm_address(rng))

    def _edit(self) -> Incoming:
        chat_id, message_id, chat, sender_id, sender = self._rng.choice(self._recent)
        return Incoming(
            chat_id=chat_id, message_id=message_id, date=time.time(),
            text="edit: fixed CA " + solana_address(self._rng), sender_id=sender_id,
            sender=sender, chat=chat, edit=True,
        )  # fmt: skip
