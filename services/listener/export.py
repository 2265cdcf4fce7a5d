"""Telegram Desktop chat exports (``result.json``) → ``Incoming`` messages.

The whole file is parsed and validated before anything is replayed, so a
malformed export fails with every problem named (where and what) and the
stream untouched.  Format notes (Telegram Desktop's export_output_json.cpp):

- a one-chat export has ``name``, ``type``, ``id`` and ``messages``; a
  whole-account export has ``chats.list`` (and ``left_chats.list``) of those;
- ``id`` is the bare chat id: channels and supergroups become -100…, basic
  groups -N, private chats stay N (the ids the live listener uses);
- ``text`` is a string, or an array of strings and ``{type, text, href?}``
  objects; ``text_entities`` is always the array of objects (preferred);
- ``text_link`` entities carry the hidden target in ``href``, URL buttons in
  ``inline_bot_buttons[][].data``: both are scanned, like live messages;
- ``type`` is ``message``, ``service`` (joins, pins…) or ``unsupported``;
  only messages are replayed, the others are counted;
- an edited message appears once, with its final text (``edited`` is when).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import orjson
from telethon import utils
from telethon.tl import types

from telesniff.listener.source import Incoming
from telesniff.listener.text import with_hidden_links

_CHANNEL_TYPES: Final = frozenset(
    {"private_supergroup", "public_supergroup", "private_channel", "public_channel"}
)
_GROUP_TYPES: Final = frozenset({"private_group"})
_MAX_PROBLEMS: Final = 20


class ExportError(ValueError):
    """A malformed export; the message says where and what."""


@dataclass
class ExportChat:
    name: str | None
    chat_id: int
    messages: list[Incoming] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # message type → count


@dataclass
class Export:
    chats: list[ExportChat]

    @property
    def messages(self) -> Iterator[Incoming]:
        for chat in self.chats:
            yield from chat.messages

    @property
    def message_count(self) -> int:
        return sum(len(chat.messages) for chat in self.chats)

    @property
    def skipped(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for chat in self.chats:
            for kind, count in chat.skipped.items():
                total[kind] = total.get(kind, 0) + count
        return total


class _Problems(list[str]):
    def add(self, where: str, what: str) -> None:
        self.append(f"{where}: {what}")


def marked_chat_id(bare: int, chat_type: str) -> int:
    if chat_type in _CHANNEL_TYPES:
        return int(utils.get_peer_id(types.PeerChannel(bare)))
    if chat_type in _GROUP_TYPES:
        return int(utils.get_peer_id(types.PeerChat(bare)))
    return bare


def _peer(value: str) -> int:
    """``user123`` → 123, ``channel456`` → -100…456, ``chat789`` → -789."""
    for prefix, peer in (("user", types.PeerUser), ("channel", types.PeerChannel),
                         ("chat", types.PeerChat)):  # fmt: skip
        digits = value.removeprefix(prefix)
        if digits != value and digits.isdigit():
            return int(utils.get_peer_id(peer(int(digits))))
    raise ValueError(f"expected user<N>, channel<N> or chat<N>, got {value!r}")


def _text_parts(parts: Any, where: str, problems: _Problems) -> tuple[str, list[str]]:
    if isinstance(parts, str):
        return parts, []
    if not isinstance(parts, list):
        problems.add(where, f"expected a string or an array, got {type(parts).__name__}")
        return "", []
    visible: list[str] = []
    hidden: list[str] = []
    for index, part in enumerate(parts):
        if isinstance(part, str):
            visible.append(part)
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            visible.append(part["text"])
            if part.get("type") == "text_link" and isinstance(part.get("href"), str):
                hidden.append(part["href"])
        else:
            problems.add(f"{where}[{index}]", "expected a string or an object with a text")
    return "".join(visible), hidden


def _buttons(message: dict[str, Any]) -> Iterator[str]:
    for row in message.get("inline_bot_buttons") or ():
        for button in row if isinstance(row, list) else ():
            if isinstance(button, dict) and button.get("type") == "url":
                data = button.get("data")
                if isinstance(data, str):
                    yield data


def _date(message: dict[str, Any], where: str, problems: _Problems) -> float:
    raw = message.get("date_unixtime")
    if isinstance(raw, str) and raw.isdigit():
        return float(raw)
    if raw is not None:
        problems.add(f"{where}.date_unixtime", f"expected a string of digits, got {raw!r}")
        return 0.0
    local = message.get("date")  # exports before 2021 have only the local time
    if isinstance(local, str):
        try:
            return datetime.fromisoformat(local).timestamp()
        except ValueError:
            pass
    problems.add(f"{where}.date", f"expected an ISO date, got {local!r}")
    return 0.0


def _message(raw: Any, where: str, chat: ExportChat, problems: _Problems) -> Incoming | None:
    if not isinstance(raw, dict):
        problems.add(where, f"expected an object, got {type(raw).__name__}")
        return None
    message_id = raw.get("id")
    if not isinstance(message_id, int) or isinstance(message_id, bool) or message_id <= 0:
        problems.add(f"{where}.id", f"expected a positive integer, got {message_id!r}")
        return None
    where = f"{where} (id {message_id})"
    kind = raw.get("type")
    if kind != "message":
        if not isinstance(kind, str):
            problems.add(f"{where}.type", f"expected a string, got {kind!r}")
        else:
            chat.skipped[kind] = chat.skipped.get(kind, 0) + 1
        return None
    if "text_entities" in raw:
        text, hidden = _text_parts(raw["text_entities"], f"{where}.text_entities", problems)
    else:
        text, hidden = _text_parts(raw.get("text", ""), f"{where}.text", problems)
    sender_id = None
    if raw.get("from_id") is not None:
        try:
            sender_id = _peer(str(raw["from_id"]))
        except ValueError as error:
            problems.add(f"{where}.from_id", str(error))
    return Incoming(
        chat_id=chat.chat_id,
        message_id=message_id,
        date=_date(raw, where, problems),
        text=with_hidden_links(text, [*hidden, *_buttons(raw)]),
        sender_id=sender_id,
        chat=chat.name,
    )


def _chat(document: Any, where: str, problems: _Problems) -> ExportChat | None:
    if not isinstance(document, dict):
        problems.add(where, f"expected an object, got {type(document).__name__}")
        return None
    bare, chat_type, messages = document.get("id"), document.get("type"), document.get("messages")
    if not isinstance(bare, int) or isinstance(bare, bool):
        problems.add(f"{where}.id", f"expected the chat's numeric id, got {bare!r}")
        return None
    if not isinstance(messages, list):
        problems.add(f"{where}.messages", f"expected an array, got {type(messages).__name__}")
        return None
    name = document.get("name")
    chat = ExportChat(name if isinstance(name, str) else None,
                      marked_chat_id(bare, str(chat_type)))  # fmt: skip
    for index, raw in enumerate(messages):
        incoming = _message(raw, f"{where}.messages[{index}]", chat, problems)
        if incoming is not None:
            chat.messages.append(incoming)
    return chat


def parse_export(document: Any) -> Export:
    problems = _Problems()
    chats: list[ExportChat] = []
    if isinstance(document, dict) and "messages" in document:
        found = [(document, "export")]
    elif isinstance(document, dict) and isinstance(document.get("chats"), dict):
        found = [
            (chat, f"{section}.list[{index}]")
            for section in ("chats", "left_chats")
            for index, chat in enumerate((document.get(section) or {}).get("list") or [])
        ]
    else:
        raise ExportError(
            "not a Telegram Desktop export: expected an object with `messages` (one chat) "
            "or `chats.list` (a whole account), as Telegram Desktop writes result.json"
        )
    for chat_document, where in found:
        chat = _chat(chat_document, where, problems)
        if chat is not None:
            chats.append(chat)
    if problems:
        shown = "\n  ".join(problems[:_MAX_PROBLEMS])
        more = (
            f"\n  … and {len(problems) - _MAX_PROBLEMS} more"
            if len(problems) > _MAX_PROBLEMS
            else ""
        )
        raise ExportError(f"{len(problems)} problem(s):\n  {shown}{more}")
    return Export(chats)


def load_export(path: Path) -> Export:
    """Read and validate a whole export; raise ExportError naming the file and each problem."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ExportError(f"{path}: cannot read: {error.strerror or error}") from None
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ExportError(f"{path}: not valid JSON: {error}") from None
    try:
        return parse_export(document)
    except ExportError as error:
        raise ExportError(f"{path}: {error}") from None
