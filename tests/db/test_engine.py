"""Migrations on start: alembic (and, for the consumer, SQLAlchemy) only when behind."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from telesniff.db import engine as db_engine
from telesniff.db.driver import SCHEMA_HEAD, Database
from telesniff.db.store import Stored, upsert
from tests.factories import entry

# Migrates the database named on the command line as every process does on start, and
# prints the revision and which libraries that loaded.
_MIGRATE_AND_REPORT = """
import asyncio, sys
from telesniff.db.driver import Database

async def main(url):
    database = Database.from_url(url)
    await database.ensure_schema()
    revision = await database.schema_revision()
    print(revision, "alembic" in sys.modules, "sqlalchemy" in sys.modules)

asyncio.run(main(sys.argv[1]))
"""


def test_schema_head_is_alembics_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(db_engine._MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_HEAD


async def test_migrated_database_is_at_head(database: Database) -> None:
    assert await database.schema_revision() == SCHEMA_HEAD


async def test_an_empty_database_has_no_revision(tmp_path: Path) -> None:
    assert await Database.from_url(f"sqlite:///{tmp_path / 'empty.db'}").schema_revision() is None


def _migrate_in_child(url: str) -> tuple[str, bool, bool]:
    done = subprocess.run(
        [sys.executable, "-c", _MIGRATE_AND_REPORT, url],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    revision, alembic, sqlalchemy = done.stdout.split()
    return revision, alembic == "True", sqlalchemy == "True"


def test_sqlalchemy_and_alembic_load_only_when_the_schema_is_behind(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert _migrate_in_child(url) == (SCHEMA_HEAD, True, True)  # empty: migrated
    assert _migrate_in_child(url) == (SCHEMA_HEAD, False, False)  # at head: one SELECT


@pytest.mark.parametrize(
    ("url", "dialect", "target"),
    [
        ("postgresql://u:p%40ss@db:5432/telesniff", "postgresql", "postgresql://u:p%40ss@db:5432/telesniff"),
        ("postgresql+asyncpg://u@db/t?ssl=require", "postgresql", "postgresql://u@db/t?sslmode=require"),
        ("postgresql://u@db/t?ssl=true&application_name=x", "postgresql",
         "postgresql://u@db/t?sslmode=require&application_name=x"),
        ("postgresql:///t?host=/var/run/postgresql", "postgresql",
         "postgresql:///t?host=%2Fvar%2Frun%2Fpostgresql"),
        ("postgres://u@db/t", "postgresql", "postgresql://u@db/t"),
        ("sqlite:///relative/x.db", "sqlite", "relative/x.db"),
        ("sqlite+aiosqlite:////abs/x.db", "sqlite", "/abs/x.db"),
    ],
)  # fmt: skip
def test_urls_the_consumer_accepts(url: str, dialect: str, target: str) -> None:
    database = Database.from_url(url)
    assert (database.dialect, database.target) == (dialect, target)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("mysql://u@db/t", "unsupported driver 'mysql'"),
        ("not a url", "cannot parse"),
        ("sqlite://", "sqlite:///path"),
        ("sqlite:///x.db?mode=ro", "no options"),
        ("postgresql+asyncpg://u@db/t?prepared_statement_cache_size=0", "SQLAlchemy's"),
    ],
)
def test_urls_the_consumer_refuses_say_why(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        Database.from_url(url)


async def test_an_unreachable_database_is_a_store_error_without_the_password() -> None:
    from telesniff.db.driver import StoreError

    database = Database.from_url("postgresql://u:hunter2@127.0.0.1:1/t")
    with pytest.raises(StoreError) as raised:
        await database.connect()
    assert "hunter2" not in str(raised.value)


def _step(connection: Connection, step: Callable[[Config, str], None], revision: str) -> None:
    """``command.upgrade`` or ``command.downgrade`` to ``revision``, on this connection."""
    config = Config()
    config.set_main_option("script_location", str(db_engine._MIGRATIONS))
    config.attributes["connection"] = connection
    step(config, revision)


def _mention_indexes(connection: Connection) -> dict[str, list[str | None]]:
    return {
        index["name"]: index["column_names"]
        for index in inspect(connection).get_indexes("mentions")
        if index["name"] is not None
    }


async def test_0002_swaps_the_kind_date_index_and_keeps_the_rows(
    engine: AsyncEngine, database: Database
) -> None:
    await upsert(database, [Stored("1-0", entry(1))])
    async with engine.begin() as connection:
        await connection.run_sync(_step, command.downgrade, "0001")
        assert (await connection.run_sync(_mention_indexes))["ix_mentions_kind_date"] == [
            "kind",
            "date",
        ]
        await connection.run_sync(_step, command.upgrade, "0002")
        indexes = await connection.run_sync(_mention_indexes)
        assert "ix_mentions_kind_date" not in indexes
        assert indexes["ix_mentions_date"] == ["date"]
        if engine.dialect.name == "postgresql":
            method = await connection.scalar(
                text(
                    "SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam"
                    " WHERE c.relname = 'ix_mentions_date'"
                )
            )
            assert method == "brin"
        assert await connection.scalar(text("SELECT count(*) FROM mentions")) == 1
    assert await database.schema_revision() == SCHEMA_HEAD


async def test_a_sqlite_file_in_a_missing_directory_is_created_by_either_path(
    tmp_path: Path,
) -> None:
    """The consumer's driver connection and the migration engine both create the directory."""
    driven = Database.from_url(f"sqlite:///{tmp_path / 'a' / 'b' / 'driver.db'}")
    await driven.discard(await driven.connect())
    assert (tmp_path / "a" / "b").is_dir()
    engine = db_engine.create_engine(f"sqlite:///{tmp_path / 'c' / 'engine.db'}")
    try:
        await db_engine.migrate(engine)
    finally:
        await engine.dispose()
    assert (tmp_path / "c" / "engine.db").is_file()
