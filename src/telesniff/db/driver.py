"""The database as the consumer and the gateway use it: driver connections from the URL.

The consumer only ever runs one prepared upsert per batch on a connection it keeps
open, and the gateway a handful of fixed ``SELECT`` statements (``telesniff.db.reader``,
``telesniff.db.queries``), so both talk to asyncpg or aiosqlite directly.  Going
through SQLAlchemy's engine added nothing on those paths but 18 MB of imports resident
in every process (about a fifth of its memory); SQLAlchemy and alembic are loaded only
when the schema has to be migrated (``ensure_schema``), which after the first
deployment is never.
"""

from __future__ import annotations

import contextlib
import importlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import parse_qsl, urlencode

Dialect = Literal["postgresql", "sqlite"]
Connection = Any  # an asyncpg.Connection or an aiosqlite.Connection, per ``dialect``

# The newest revision in migrations/versions (a test checks it against alembic's head).
SCHEMA_HEAD: Final = "0002"
_REVISION_QUERY: Final = "SELECT version_num FROM alembic_version"
_POSTGRES_SCHEMES: Final = {"postgresql", "postgres", "postgresql+asyncpg", "postgresql+psycopg2"}
_SQLITE_SCHEMES: Final = {"sqlite", "sqlite+aiosqlite"}
_SQLALCHEMY_ONLY: Final = {"prepared_statement_cache_size", "prepared_statement_name_func",
                           "async_fallback"}  # fmt: skip
_SSL_MODES: Final = {"true": "require", "false": "disable"}  # ssl=true as SQLAlchemy took it
SQLITE_PRAGMAS: Final = (
    # WAL lets the gateway read while the consumer writes; NORMAL sync is durable
    # across process crashes, which is what at-least-once needs.
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
)


class DatabaseURLError(ValueError):
    """A database URL this project cannot use; the message says what to write instead."""


class StoreError(Exception):
    """The database refused or lost a statement, or could not be reached (cause chained)."""


@dataclass(frozen=True, slots=True)
class Database:
    """Where the detections are stored, parsed from ``TELESNIFF_DATABASE_URL``."""

    url: str
    dialect: Dialect
    target: str  # asyncpg's DSN, or SQLite's file path

    @classmethod
    def from_url(cls, url: str) -> Database:
        scheme, separator, rest = url.partition("://")
        if not separator:
            raise DatabaseURLError(
                "TELESNIFF_DATABASE_URL: cannot parse: expected scheme://…, "
                "e.g. postgresql://user@host/db or sqlite:///path"
            )
        if scheme in _POSTGRES_SCHEMES:
            return cls(url, "postgresql", f"postgresql://{_libpq_options(rest)}")
        if scheme in _SQLITE_SCHEMES:
            # SQLAlchemy's form: sqlite:///relative.db, sqlite:////absolute.db
            path = rest[1:] if rest.startswith("/") else rest
            if not path or "?" in path:
                raise DatabaseURLError(
                    "TELESNIFF_DATABASE_URL: write SQLite as sqlite:///path (no options)"
                )
            return cls(url, "sqlite", path)
        raise DatabaseURLError(
            f"TELESNIFF_DATABASE_URL: unsupported driver {scheme!r}; "
            "use postgresql://… or sqlite:///path"
        )

    async def connect(self) -> Connection:
        """A new driver connection; StoreError when the database cannot be reached."""
        try:
            if self.dialect == "postgresql":
                asyncpg = importlib.import_module("asyncpg")
                return await asyncpg.connect(self.target)
            aiosqlite = importlib.import_module("aiosqlite")
            self.make_sqlite_directory()
            connection = await aiosqlite.connect(self.target)
            for pragma in SQLITE_PRAGMAS:
                await connection.execute(pragma)
            return connection
        except driver_errors() as error:
            raise StoreError(f"cannot connect: {type(error).__name__}: {error}") from error

    def make_sqlite_directory(self) -> None:
        """Create the SQLite file's directory, so a fresh path works on first start."""
        if self.dialect == "sqlite" and self.target != ":memory:":
            Path(self.target).parent.mkdir(parents=True, exist_ok=True)

    async def discard(self, connection: Connection) -> None:
        """Close a connection that may be broken, without waiting on the server."""
        with contextlib.suppress(Exception):
            if self.dialect == "postgresql":
                connection.terminate()
            else:
                await connection.close()

    async def schema_revision(self) -> str | None:
        """The migration the database is at; None before the first one."""
        connection = await self.connect()
        try:
            if self.dialect == "postgresql":
                revision = await connection.fetchval(_REVISION_QUERY)
            else:
                cursor = await connection.execute(_REVISION_QUERY)
                row = await cursor.fetchone()
                revision = row[0] if row else None
        except driver_errors():  # no alembic_version table yet
            return None
        finally:
            await self.discard(connection)
        return None if revision is None else str(revision)

    async def ensure_schema(self) -> None:
        """Migrate to the newest revision, loading SQLAlchemy and alembic only if behind."""
        if await self.schema_revision() == SCHEMA_HEAD:
            return
        from telesniff.db.engine import create_engine, migrate

        engine = create_engine(self.url)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()


def _libpq_options(rest: str) -> str:
    """The URL's options as asyncpg reads them (libpq's names).

    SQLAlchemy's asyncpg URLs say ``ssl=require``; asyncpg's DSN takes libpq's
    ``sslmode`` and sends any other name to the server as a setting, which the server
    refuses at connect.  Options only SQLAlchemy understood are refused here instead.
    """
    location, question, query = rest.partition("?")
    if not question:
        return rest
    options: list[tuple[str, str]] = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in _SQLALCHEMY_ONLY:
            raise DatabaseURLError(
                f"TELESNIFF_DATABASE_URL: option {name!r} is SQLAlchemy's; remove it"
            )
        if name == "ssl":
            name, value = "sslmode", _SSL_MODES.get(value.lower(), value)
        options.append((name, value))
    return f"{location}?{urlencode(options)}" if options else location


def driver_errors() -> tuple[type[BaseException], ...]:
    """What the drivers raise for a refused or lost statement or connection."""
    asyncpg = importlib.import_module("asyncpg")
    return (
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        sqlite3.Error,
        OSError,
        TimeoutError,
    )
