"""Tables: one row per detected message, and one row per address/keyword it mentions.

Times are epoch seconds (double precision) so PostgreSQL and SQLite behave
the same and nothing converts on the hot path.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Double, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT.
_ROW_ID = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class Detection(Base):
    __tablename__ = "detections"
    __table_args__ = (
        Index("uq_detections_chat_message", "chat_id", "message_id", unique=True),
        Index("ix_detections_group_id", "group_name", "id"),
        Index("ix_detections_date", "date"),
    )

    id: Mapped[int] = mapped_column(_ROW_ID, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    group_name: Mapped[str] = mapped_column(String(253))
    chat: Mapped[str | None] = mapped_column(String(255))
    sender_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    sender: Mapped[str | None] = mapped_column(String(64))
    date: Mapped[float] = mapped_column(Double)
    text: Mapped[str] = mapped_column(Text)
    matches: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    edited: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[float] = mapped_column(Double)
    stream_id: Mapped[str] = mapped_column(String(48))
    stored_at: Mapped[float] = mapped_column(Double)


class Mention(Base):
    """One match of one message: what the hot view and per-address history count."""

    __tablename__ = "mentions"
    __table_args__ = (
        Index("ix_mentions_value_date", "value", "date"),
        # Appended in date order: a block-range index serves the hot view's recent
        # window at a fraction of a B-tree's cost per row (migration 0002).
        Index(
            "ix_mentions_date",
            "date",
            postgresql_using="brin",
            postgresql_with={"autosummarize": "on"},
        ),
    )

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(512), primary_key=True)
    group_name: Mapped[str] = mapped_column(String(253))
    sender_id: Mapped[int | None] = mapped_column(BigInteger)
    sender: Mapped[str | None] = mapped_column(String(64))
    date: Mapped[float] = mapped_column(Double)
