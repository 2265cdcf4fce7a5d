"""SQLAlchemy engines and the alembic migrations.

Running processes read and write through the drivers (``telesniff.db.driver`` and
``telesniff.db.reader``) and come here only through ``Database.ensure_schema`` when
the schema is behind; the bench controller and the tests use engines directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from telesniff.db.driver import SQLITE_PRAGMAS, Database

_MIGRATIONS = Path(__file__).with_name("migrations")


def create_engine(url: str) -> AsyncEngine:
    """An async engine for the URL the processes use (``Database.from_url`` checks it)."""
    database = Database.from_url(url)
    parsed = make_url(url)
    if database.dialect == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
        database.make_sqlite_directory()
        engine = create_async_engine(parsed)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    parsed = parsed.set(drivername="postgresql+asyncpg")
    return create_async_engine(parsed, pool_size=5, max_overflow=5, pool_pre_ping=True)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # The same settings as every driver connection (WAL, NORMAL sync, busy timeout).
    cursor = connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _upgrade(connection: Connection) -> None:
    from alembic import command
    from alembic.config import Config

    if connection.dialect.name == "postgresql":
        # Several consumers and gateways start together; one migrates, the others wait.
        connection.execute(text("SELECT pg_advisory_xact_lock(7262534)"))
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
