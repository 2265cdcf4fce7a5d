"""Migrations on start: alembic only when the schema is behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from telesniff.db import engine as db_engine

# Migrates the database named on the command line and prints whether alembic was loaded.
_MIGRATE_AND_REPORT = """
import asyncio, sys
from telesniff.db.engine import create_engine, migrate, schema_revision

async def main():
    engine = create_engine(sys.argv[1])
    await migrate(engine)
    revision = await schema_revision(engine)
    await engine.dispose()
    print(revision, "alembic" in sys.modules)

asyncio.run(main())
"""


def test_schema_head_is_alembics_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(db_engine._MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == db_engine.SCHEMA_HEAD


async def test_migrated_database_is_at_head(engine: AsyncEngine) -> None:
    assert await db_engine.schema_revision(engine) == db_engine.SCHEMA_HEAD


def _migrate_in_child(url: str) -> tuple[str, bool]:
    done = subprocess.run(
        [sys.executable, "-c", _MIGRATE_AND_REPORT, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    revision, loaded = done.stdout.split()
    return revision, loaded == "True"


def test_alembic_loads_only_when_the_schema_is_behind(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    assert _migrate_in_child(url) == (db_engine.SCHEMA_HEAD, True)  # empty: migrated
    assert _migrate_in_child(url) == (db_engine.SCHEMA_HEAD, False)  # at head: one SELECT
