"""The ChatGroup spec: what one listener watches and what it looks for.

The same shape is the ``spec`` of the ``ChatGroup`` custom resource and the
YAML file given to ``telesniff listener --group FILE``.  Validation here is
the single source of truth: the CLI, the listener and the operator's
admission webhook all report the same messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from telesniff.contract import MATCH_KINDS, MatchKind

_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_TME = re.compile(
    r"(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/"
    r"(?:(?P<private>c/(?P<channel>\d+))|(?P<invite>(?:\+|joinchat/)[A-Za-z0-9_-]+)|(?P<username>[A-Za-z][A-Za-z0-9_]{3,31}))"
    r"(?:/\d+)?/?(?:\?.*)?"
)


@dataclass(frozen=True, slots=True)
class ChatRef:
    """A parsed chat reference: a numeric id, a public username, or an invite hash."""

    kind: Literal["id", "username", "invite"]
    value: str

    @property
    def chat_id(self) -> int | None:
        return int(self.value) if self.kind == "id" else None


def parse_chat_ref(reference: str | int) -> ChatRef:
    """Parse ``-100123``, ``@name`` or a ``t.me`` link; raise ValueError saying what is wrong."""
    text = str(reference).strip()
    if re.fullmatch(r"-?\d{1,20}", text):
        return ChatRef("id", str(int(text)))
    if text.startswith("@"):
        if _USERNAME.fullmatch(text[1:]):
            return ChatRef("username", text[1:].lower())
        raise ValueError(
            f"chat {text!r}: a username is @ followed by 5-32 letters, digits or underscores, "
            "starting with a letter"
        )
    link = _TME.fullmatch(text)
    if link:
        if link["channel"]:
            return ChatRef("id", f"-100{link['channel']}")
        if link["invite"]:
            return ChatRef("invite", link["invite"].removeprefix("joinchat/").lstrip("+"))
        return ChatRef("username", link["username"].lower())
    raise ValueError(
        f"chat {text!r}: expected a numeric id (e.g. -1001234567890), "
        "an @username, or a t.me link (https://t.me/name)"
    )


def _check_pattern(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as error:
        raise ValueError(
            f"pattern {pattern!r} is not a valid regular expression: {error}"
        ) from None
    return pattern


class _SpecModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class SenderFilter(_SpecModel):
    """Which senders count: ``allow`` (when non-empty, only these) minus ``deny``.

    Entries are numeric user ids or usernames (with or without ``@``).
    """

    allow: list[str | int] = Field(default_factory=list)
    deny: list[str | int] = Field(default_factory=list)


class SecretKeyRef(_SpecModel):
    name: Annotated[str, Field(min_length=1, max_length=253)]
    key: Annotated[str, Field(min_length=1, max_length=253)]


class TelegramSecrets(_SpecModel):
    """Where the session and the API credentials live (Kubernetes Secret keys)."""

    session: SecretKeyRef
    api_id: SecretKeyRef
    api_hash: SecretKeyRef


class GroupSpec(_SpecModel):
    # Where the messages come from: Telegram (credentials from ``telegram`` in a
    # cluster, or from the environment and secret files), or the demo source of
    # realistic synthetic traffic (local clusters, Tilt), which needs no credentials.
    source: Literal["telegram", "demo"] = "telegram"
    chats: Annotated[list[str | int], Field(min_length=1, max_length=500)]
    senders: SenderFilter = Field(default_factory=SenderFilter)
    keywords: Annotated[list[Annotated[str, Field(min_length=1)]], Field(max_length=1000)] = []
    patterns: Annotated[list[Annotated[str, Field(min_length=1)]], Field(max_length=200)] = []
    detectors: list[MatchKind] = Field(default_factory=lambda: list(MATCH_KINDS))
    # Ignored (neither checked nor mounted) when ``source`` is ``demo``.
    telegram: TelegramSecrets | None = None
    suspend: bool = False
    image: str | None = None
    resources: dict[str, Any] | None = None
    node_selector: dict[str, str] | None = None
    tolerations: list[dict[str, Any]] | None = None
    affinity: dict[str, Any] | None = None

    @field_validator("chats")
    @classmethod
    def _chats_parse(cls, chats: list[str | int]) -> list[str | int]:
        for chat in chats:
            parse_chat_ref(chat)
        return chats

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            _check_pattern(pattern)
        return patterns

    @property
    def chat_refs(self) -> list[ChatRef]:
        return [parse_chat_ref(chat) for chat in self.chats]

    @property
    def demo(self) -> bool:
        return self.source == "demo"


class SpecError(ValueError):
    """A ChatGroup spec that cannot be used; the message names each problem."""


def format_validation_error(error: ValidationError) -> str:
    problems = []
    for problem in error.errors(include_url=False):
        where = ".".join(str(part) for part in problem["loc"]) or "spec"
        message = str(problem["msg"]).removeprefix("Value error, ")
        problems.append(f"spec.{where}: {message}")
    return "; ".join(problems)


def parse_spec(document: Any) -> GroupSpec:
    try:
        return GroupSpec.model_validate(document)
    except ValidationError as error:
        raise SpecError(format_validation_error(error)) from None


@dataclass(frozen=True, slots=True)
class GroupFile:
    """A ChatGroup read from a file: its name and its spec."""

    name: str
    spec: GroupSpec


def load_group_file(path: Path) -> GroupFile:
    """Read a ChatGroup manifest (``kind: ChatGroup``) or a bare spec from YAML."""
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise SpecError(f"{path}: cannot read: {error}") from None
    if not isinstance(document, dict):
        raise SpecError(f"{path}: expected a YAML mapping")
    if "spec" in document:
        name = str((document.get("metadata") or {}).get("name") or path.stem)
        return GroupFile(name, parse_spec(document["spec"]))
    return GroupFile(path.stem, parse_spec(document))
