"""``telesniff consumer``: one member of the consumer group."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from telesniff import broker, runtime
from telesniff.cli.app import app
from telesniff.cli.common import settings_or_exit
from telesniff.consumer.worker import Consumer
from telesniff.db.engine import create_engine, migrate
from telesniff.settings import Settings


@app.command()
def consumer(
    name: Annotated[str | None, typer.Option(help="Consumer name in the group.")] = None,
) -> None:
    """Read the stream in the consumer group; broadcast, store, acknowledge."""
    settings = settings_or_exit(consumer_name=name)
    if settings.redis_url is None:
        typer.echo(
            "telesniff: TELESNIFF_REDIS_URL is required for `telesniff consumer`; "
            "`telesniff dev` starts an embedded server",
            err=True,
        )
        raise typer.Exit(2)
    runtime.setup_logging(settings.log_level)
    runtime.run(lambda stop: _run(settings, stop))


async def _run(settings: Settings, stop: asyncio.Event) -> None:
    assert settings.redis_url is not None
    client = broker.connect(settings.redis_url, name=f"consumer-{settings.consumer_name}")
    engine = create_engine(settings.database_url_or_default())
    await migrate(engine)
    worker = Consumer(client, engine, settings)
    running = asyncio.create_task(worker.run())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
    worker.stop()
    stopping.cancel()
    try:
        await running
    finally:
        await client.aclose()
        await engine.dispose()
