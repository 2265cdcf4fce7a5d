"""Response shapes, for the OpenAPI document (handlers return orjson bytes directly)."""

from __future__ import annotations

from pydantic import BaseModel


class Problem(BaseModel):
    detail: str


class MatchOut(BaseModel):
    kind: str
    value: str


class DetectionOut(BaseModel):
    """``contract.to_view``: the same shape REST and WebSocket send."""

    cursor: str
    group: str
    chat_id: int
    chat: str | None
    message_id: int
    sender_id: int | None
    sender: str | None
    date: float
    text: str
    matches: list[MatchOut]
    edit: bool
    received_at: float


class StoredDetectionOut(DetectionOut):
    id: int
    edited: bool


class DetectionsPage(BaseModel):
    items: list[StoredDetectionOut]
    next: str | None


class DetectionTotals(BaseModel):
    total: int
    last_hour: int
    by_kind: dict[str, int]
    by_group: dict[str, int]


class ConsumerGroupOut(BaseModel):
    name: str
    pending: int
    lag: int | None
    consumers: int
    last_delivered_id: str


class StreamOut(BaseModel):
    name: str
    length: int
    consumer_group: ConsumerGroupOut | None


class WebSocketStats(BaseModel):
    clients: int
    dropped: dict[str, int]
    dropped_total: int


class StatsOut(BaseModel):
    time: float
    detections: DetectionTotals
    stream: StreamOut | None
    websocket: WebSocketStats


class HotAddressOut(BaseModel):
    kind: str
    value: str
    mentions: int
    chats: int
    senders: int
    first_seen: float
    last_seen: float


class AddressChatOut(BaseModel):
    chat_id: int
    chat: str | None
    group: str
    first_seen: float
    count: int


class AddressSenderOut(BaseModel):
    sender_id: int | None
    sender: str | None
    count: int
    first_seen: float


class TimelineOut(BaseModel):
    date: float
    chat_id: int
    chat: str | None
    group: str
    sender_id: int | None
    sender: str | None
    message_id: int


class AddressOut(BaseModel):
    kind: str
    value: str
    first_seen: float
    mentions: int
    chats: list[AddressChatOut]
    senders: list[AddressSenderOut]
    timeline: list[TimelineOut]


class ReadyOut(BaseModel):
    status: str
    checks: dict[str, str]
    failed: list[str] = []
