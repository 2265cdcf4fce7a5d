"""What reached the database: rows per bench group, and when the consumer stored them.

Every row carries ``stored_at`` (the consumer's clock when it wrote the batch), so rates
and completion times come from the rows themselves, not from polling the database while
it is busy.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass(frozen=True, slots=True)
class Rows:
    count: int
    first_stored: float | None
    last_stored: float | None


class Tally:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def rows(self, group: str) -> Rows:
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(
                    text(
                        "SELECT count(*), min(stored_at), max(stored_at) FROM detections"
                        " WHERE group_name = :group"
                    ),
                    {"group": group},
                )
            ).one()
        return Rows(int(row[0]), row[1], row[2])

    async def stored_between(self, group: str, start: float, end: float) -> int:
        async with self.engine.connect() as connection:
            value = (
                await connection.execute(
                    text(
                        "SELECT count(*) FROM detections WHERE group_name = :group"
                        " AND stored_at >= :start AND stored_at < :end"
                    ),
                    {"group": group, "start": start, "end": end},
                )
            ).scalar_one()
        return int(value)

    async def wait_for(
        self,
        group: str,
        count: int,
        within: float,
        every: float = 0.05,
        check: Callable[[], None] | None = None,
    ) -> Rows:
        """Poll until ``count`` rows of ``group`` are stored; returns what is there at the end.

        ``check`` runs between polls and may raise (a process the rows depend on died).
        """
        deadline = time.monotonic() + within
        while True:
            rows = await self.rows(group)
            if rows.count >= count or time.monotonic() > deadline:
                return rows
            if check is not None:
                check()
            await asyncio.sleep(every)

    async def empty(self) -> None:
        """Delete every row (only ever in a database the bench started itself)."""
        async with self.engine.begin() as connection:
            if self.engine.dialect.name == "postgresql":
                await connection.execute(text("TRUNCATE mentions, detections"))
            else:  # SQLite empties a table without a WHERE as fast as a TRUNCATE
                for table in ("mentions", "detections"):
                    await connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608

    async def forget(self, prefix: str) -> None:
        """Delete the rows a bench run wrote (its groups share ``prefix``)."""
        async with self.engine.begin() as connection:
            for table in ("mentions", "detections"):
                await connection.execute(
                    text(f"DELETE FROM {table} WHERE group_name LIKE :pattern"),  # noqa: S608
                    {"pattern": prefix + "%"},
                )
