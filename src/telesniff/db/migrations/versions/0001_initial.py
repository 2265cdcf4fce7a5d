"""Detections and mentions.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "detections",
        sa.Column("id", _ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("group_name", sa.String(253), nullable=False),
        sa.Column("chat", sa.String(255)),
        sa.Column("sender_id", sa.BigInteger()),
        sa.Column("sender", sa.String(64)),
        sa.Column("date", sa.Double(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("matches", sa.JSON(), nullable=False),
        sa.Column("edited", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.Double(), nullable=False),
        sa.Column("stream_id", sa.String(48), nullable=False),
        sa.Column("stored_at", sa.Double(), nullable=False),
    )
    op.create_index(
        "uq_detections_chat_message", "detections", ["chat_id", "message_id"], unique=True
    )
    op.create_index("ix_detections_group_id", "detections", ["group_name", "id"])
    op.create_index("ix_detections_date", "detections", ["date"])
    op.create_index("ix_detections_sender_id", "detections", ["sender_id"])
    op.create_table(
        "mentions",
        sa.Column("chat_id", sa.BigInteger(), primary_key=True),
        sa.Column("message_id", sa.BigInteger(), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("value", sa.String(512), primary_key=True),
        sa.Column("group_name", sa.String(253), nullable=False),
        sa.Column("sender_id", sa.BigInteger()),
        sa.Column("sender", sa.String(64)),
        sa.Column("date", sa.Double(), nullable=False),
    )
    op.create_index("ix_mentions_value_date", "mentions", ["value", "date"])
    op.create_index("ix_mentions_kind_date", "mentions", ["kind", "date"])


def downgrade() -> None:
    op.drop_table("mentions")
    op.drop_table("detections")
