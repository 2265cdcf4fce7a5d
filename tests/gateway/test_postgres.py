"""The REST queries on PostgreSQL: the same tests as on SQLite, against a real server.

Runs when ``TELESNIFF_TEST_POSTGRES_URL`` is set or PostgreSQL is installed (the shared
``postgres_url`` fixture then starts a private server); skipped otherwise.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from telesniff.bench.servers import PG_BINS

from . import test_rest
from .harness import GatewayFactory, RunningGateway

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    installed = any(next(root.glob("*/bin/initdb"), None) for root in PG_BINS)
    if not os.environ.get("TELESNIFF_TEST_POSTGRES_URL") and not installed:
        pytest.skip("no PostgreSQL: set TELESNIFF_TEST_POSTGRES_URL or install postgresql")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def start_pg(start_gateway: GatewayFactory, pg_url: str) -> GatewayFactory:
    """A gateway on PostgreSQL; the shared database starts each gateway empty."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[RunningGateway]:
        async with start_gateway(database_url=pg_url, **overrides) as gw:
            assert gw.database.dialect == "postgresql"
            connection = await gw.database.connect()
            try:
                await connection.execute("DELETE FROM mentions")
                await connection.execute("DELETE FROM detections")
            finally:
                await connection.close()
            yield gw

    return start


async def test_filters(start_pg: GatewayFactory) -> None:
    await test_rest.test_detection_filters(start_pg)


async def test_text_search_case(start_pg: GatewayFactory) -> None:
    await test_rest.test_text_search_folds_case_as_the_database_does(start_pg)


async def test_pagination(start_pg: GatewayFactory) -> None:
    await test_rest.test_pagination_walks_every_row_once(start_pg)


async def test_edits(start_pg: GatewayFactory) -> None:
    await test_rest.test_edits_replace_the_row(start_pg)


async def test_stats(start_pg: GatewayFactory) -> None:
    await test_rest.test_stats(start_pg)


async def test_hot(start_pg: GatewayFactory) -> None:
    await test_rest.test_hot_ranks_spread_over_volume(start_pg)


async def test_address_detail(start_pg: GatewayFactory) -> None:
    await test_rest.test_address_detail(start_pg)


async def test_readiness(start_pg: GatewayFactory) -> None:
    await test_rest.test_health_page_and_metrics(start_pg)
