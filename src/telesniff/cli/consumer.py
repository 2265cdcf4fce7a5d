"""``telesniff consumer``: one member of the consumer group."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import typer

from telesniff import runtime
from telesniff.cli.app import app
from telesniff.cli.common import settings_or_exit
from telesniff.db.driver import Database, DatabaseURLError
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
    try:
        database = Database.from_url(settings.database_url_or_default())
    except DatabaseURLError as error:
        typer.echo(f"telesniff: {error}", err=True)
        raise typer.Exit(2) from None
    runtime.setup_logging(settings.log_level)
    runtime.run(lambda stop: _run(settings, database, stop))


async def _run(settings: Settings, database: Database, stop: asyncio.Event) -> None:
    # Imported here so the other commands never load the consumer.
    from telesniff import broker
    from telesniff.consumer.worker import Consumer
    from telesniff.observability import MetricsServer

    assert settings.redis_url is not None
    client = broker.connect(settings.redis_url, name=f"consumer-{settings.consumer_name}")
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(client.aclose)
        worker = Consumer(client, database, settings)
        if settings.metrics_port is not None:
            health = MetricsServer(
                lambda: {"consumer": settings.consumer_name, "stored": worker.stored,
                         "dead_lettered": worker.dead_lettered},
                component="consumer",
            )  # fmt: skip
            # All interfaces: kubelet probes and Prometheus reach the pod IP.
            port = await stack.enter_async_context(health.serve("0.0.0.0", settings.metrics_port))
            typer.echo(f"telesniff consumer: metrics at http://0.0.0.0:{port}/metrics", err=True)
        await database.ensure_schema()
        running = asyncio.create_task(worker.run())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        worker.stop()
        stopping.cancel()
        await running
