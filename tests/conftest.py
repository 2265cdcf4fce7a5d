"""Shared fixtures: real Redis (Debian's and the embedded Valkey), PostgreSQL and SQLite."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine

from telesniff import broker
from telesniff.db.driver import Database
from telesniff.db.engine import create_engine, migrate
from tests import servers


@pytest.fixture(scope="session")
def debian_redis_url() -> Iterator[str]:
    with servers.redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def valkey_url() -> Iterator[str]:
    with servers.valkey_server() as url:
        yield url


@pytest.fixture(scope="session", params=["redis", "valkey"])
def redis_url(request: pytest.FixtureRequest) -> str:
    """Each service test runs on Debian's redis-server and on the embedded Valkey."""
    name = "debian_redis_url" if request.param == "redis" else "valkey_url"
    return str(request.getfixturevalue(name))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    external = os.environ.get("TELESNIFF_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    with servers.postgres_server() as url:
        os.environ["TELESNIFF_TEST_POSTGRES_URL"] = url
        try:
            yield url
        finally:
            del os.environ["TELESNIFF_TEST_POSTGRES_URL"]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'telesniff.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await migrate(engine)
    async with engine.begin() as connection:
        # The PostgreSQL database is shared by the session: start each test empty.
        from sqlalchemy import text

        await connection.execute(text("DELETE FROM mentions"))
        await connection.execute(text("DELETE FROM detections"))
    yield engine
    await engine.dispose()


@pytest.fixture
def database(engine: AsyncEngine, database_url: str) -> Database:
    """The same (migrated, emptied) database, as the consumer opens it: no SQLAlchemy."""
    return Database.from_url(database_url)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = broker.connect(redis_url)
    await client.flushdb()
    yield client
    await client.aclose()
