"""Filter and detect: the sink every message source feeds."""

from __future__ import annotations

import time

from telesniff.contract import Entry
from telesniff.detect import Detector
from telesniff.listener.source import Incoming
from telesniff.listener.writer import Seen, StreamWriter


class Listener:
    """Turns each incoming message into a stream entry when something in it matters."""

    def __init__(self, group: str, detector: Detector, writer: StreamWriter) -> None:
        self.group = group
        self._detector = detector
        self._writer = writer

    async def __call__(self, message: Incoming) -> None:
        received_at = time.time()
        entry = None
        if self._detector.accepts_sender(message.sender_id, message.sender):
            matches = self._detector.scan(message.text)
            if matches:
                entry = Entry(
                    group=self.group,
                    chat_id=message.chat_id,
                    message_id=message.message_id,
                    date=message.date,
                    text=message.text,
                    matches=matches,
                    received_at=received_at,
                    sender_id=message.sender_id,
                    sender=message.sender,
                    chat=message.chat,
                    edit=message.edit,
                )
        await self._writer.put(Seen(message.chat_id, message.message_id, entry, message.edit))
