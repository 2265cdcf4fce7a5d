"""A running gateway never imports SQLAlchemy or alembic once the schema is at head.

They are about 18 MB (SQLAlchemy) and 11 MB (alembic) resident for the life of the
process (issue 5: every process under 80 MB).  The check runs in a fresh interpreter,
importing what ``telesniff gateway`` imports and serving every database-backed route
on a real uvicorn socket, against Redis and an at-head SQLite database.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from telesniff.db.driver import SCHEMA_HEAD, Database

_SERVE_AND_REPORT = """
import asyncio, sys

import httpx

import telesniff.cli  # every command module, as `telesniff gateway` builds the CLI
from telesniff import serving
from telesniff.gateway import server
from telesniff.settings import Settings


async def main(redis_url, database_url):
    settings = Settings(redis_url=redis_url, database_url=database_url, port=0,
                        stream="memtest:messages", live_channel="memtest:live")
    app = server.create_app(settings)
    uvicorn = serving.Server(server.uvicorn_config(settings, app, loop="none"))
    stop = asyncio.Event()
    task = asyncio.create_task(serving.serve_until(uvicorn, stop))
    await asyncio.wait_for(uvicorn.ready.wait(), 30)
    statuses = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{uvicorn.port}") as client:
        for path in ("/readyz", "/api/detections?q=x&kind=evm&group=a", "/api/stats",
                     "/api/addresses/hot", "/api/addresses/nothing"):
            statuses.append((await client.get(path)).status_code)
    stop.set()
    await task
    print(*statuses, "sqlalchemy" in sys.modules, "alembic" in sys.modules)


asyncio.run(main(*sys.argv[1:]))
"""


def _serve_and_report(redis_url: str, database_url: str) -> tuple[bool, bool]:
    """Serve every database route in a fresh gateway; whether SQLAlchemy, alembic loaded."""
    done = subprocess.run(
        [sys.executable, "-c", _SERVE_AND_REPORT, redis_url, database_url],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    *statuses, sqlalchemy, alembic = done.stdout.split()
    assert statuses == ["200", "200", "200", "200", "404"]
    return sqlalchemy == "True", alembic == "True"


def test_a_gateway_at_head_never_imports_sqlalchemy(debian_redis_url: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'telesniff.db'}"
    database = Database.from_url(url)
    asyncio.run(database.ensure_schema())  # what an earlier start (or the consumer) did
    assert asyncio.run(database.schema_revision()) == SCHEMA_HEAD
    assert _serve_and_report(debian_redis_url, url) == (False, False)


def test_a_gateway_migrates_an_empty_database(debian_redis_url: str, tmp_path: Path) -> None:
    """The exception: a schema that is behind is migrated, which does load them."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert _serve_and_report(debian_redis_url, url) == (True, True)
    assert asyncio.run(Database.from_url(url).schema_revision()) == SCHEMA_HEAD
