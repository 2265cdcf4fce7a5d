"""A synthetic message source: realistic calls at a controlled rate, for a counted run.

Unlike the demo source it spends nearly nothing per message (the texts are made up
front), so the listener's own work (detection, encoding, XADD) is what a bench
measures.  Every message is a call that the detectors match, so every message becomes
one stream entry and one stored row; ``(chat_id, message_id)`` never repeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from telesniff.listener.demo import evm_address, solana_address
from telesniff.listener.source import Incoming, Sink

_CALLS = (
    "🚨 NEW CALL 🚨\nCA: {sol}\nLP burned, mint revoked",
    "aping this one {sol} 🔥",
    "{sol}\n\nchart: https://dexscreener.com/solana/{sol}",
    "stealth launch on pump 👀 https://pump.fun/coin/{sol}",
    "birdeye https://birdeye.so/token/{sol}?chain=solana looks good",
    "ETH gem: {evm}\nhttps://dexscreener.com/ethereum/{evm}",
    "new token on base {evm} tax 0/0",
    "gmgn https://gmgn.ai/sol/token/{sol} smart money buying",
)  # fmt: skip
_SENDERS = ((5100001, "ansem_calls"), (5100002, "solwhale"), (5100003, None))
_YIELD_EVERY = 64  # at full speed, let the writer send what has queued up this often
_TICK_S = 0.001  # at a set rate, messages due are handed over once per tick


def make_texts(count: int, seed: int = 5) -> list[str]:
    """``count`` distinct call texts (the pool a source cycles through)."""
    rng = random.Random(seed)
    return [
        rng.choice(_CALLS).format(sol=solana_address(rng), evm=evm_address(rng))
        for _ in range(count)
    ]


@dataclass
class SyntheticSource:
    """``rate`` messages per second (0: as fast as the sink takes them) until ``count``
    messages or ``duration`` seconds, whichever first; then ``run`` returns."""

    texts: Sequence[str]
    chat_ids: Sequence[int]
    rate: float = 0.0
    count: int | None = None
    duration: float | None = None
    first_message_id: int = 1
    gate: asyncio.Event | None = None  # cleared while the consumers are too far behind
    sent: int = field(init=False, default=0)
    first_at: float = field(init=False, default=0.0)

    async def run(self, sink: Sink) -> None:
        self.first_at = time.time()
        deadline = time.monotonic() + self.duration if self.duration is not None else None
        limit = self.count if self.count is not None else -1
        started = time.monotonic()
        while self.sent != limit:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return
            if self.gate is not None and not self.gate.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.gate.wait(), _TICK_S * 10)
                continue
            if self.rate > 0:
                due = int((now - started) * self.rate) + 1 - self.sent
                if due <= 0:
                    await asyncio.sleep(min(_TICK_S, (self.sent + 1) / self.rate - (now - started)))
                    continue
            else:
                due = _YIELD_EVERY
            if limit >= 0:
                due = min(due, limit - self.sent)
            for _ in range(due):
                await sink(self._message(self.sent))
                self.sent += 1
            if self.rate <= 0:
                # Let the writer send what has queued up.  At a set rate the sleep
                # until the next message does that; a second wakeup per message
                # here cost more CPU than the message's own handling.
                await asyncio.sleep(0)

    def _message(self, n: int) -> Incoming:
        chats = len(self.chat_ids)
        sender_id, sender = _SENDERS[n % len(_SENDERS)]
        return Incoming(
            chat_id=self.chat_ids[n % chats],
            message_id=self.first_message_id + n // chats,
            date=time.time(),
            text=self.texts[n % len(self.texts)],
            sender_id=sender_id,
            sender=sender,
            chat="Bench Calls",
        )
