"""Mentions by date: a BRIN index on PostgreSQL instead of a B-tree on (kind, date).

The hot view reads the mentions of a recent window, and mentions are only ever
appended, roughly in date order: a block-range index answers that window as well,
costs a few bytes per 128 pages instead of an entry per row, and takes 1.5-2.5 µs
less of PostgreSQL's time for every message stored (``docs/bench.md``).  SQLite has
no BRIN and gets a B-tree on ``date``.  ``autosummarize`` summarises each range as it
fills, so old ranges never have to be read for a recent window.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_mentions_kind_date", table_name="mentions")
    op.create_index(
        "ix_mentions_date",
        "mentions",
        ["date"],
        postgresql_using="brin",
        postgresql_with={"autosummarize": "on"},
    )


def downgrade() -> None:
    op.drop_index("ix_mentions_date", table_name="mentions")
    op.create_index("ix_mentions_kind_date", "mentions", ["kind", "date"])
