"""``telesniff dev``: the whole data path in one process, on embedded defaults."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated

import typer

from telesniff import broker, runtime
from telesniff.cli.app import app
from telesniff.cli.common import settings_or_exit
from telesniff.groupspec import GroupFile, GroupSpec, SpecError, load_group_file
from telesniff.settings import Settings

_DEMO_SPEC = GroupSpec(chats=["@demo"], keywords=["stealth launch", "presale"])


@app.command()
def dev(
    port: Annotated[int | None, typer.Option(help="Port for the dashboard and API.")] = None,
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    rate: Annotated[
        float | None, typer.Option(help="Demo messages per second, over all demo groups.")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Where the embedded Valkey and SQLite keep data.")
    ] = None,
    group: Annotated[
        Path | None,
        typer.Option(help="ChatGroup YAML: its chats on Telegram, or `source: demo`."),
    ] = None,
) -> None:
    """Run listener(s), consumer and gateway together; Ctrl-C stops everything."""
    settings = settings_or_exit(port=port, host=host, demo_rate=rate, data_dir=data_dir)
    runtime.setup_logging(settings.log_level)
    chosen = _chosen_group(settings, group)
    with contextlib.ExitStack() as stack:
        if settings.redis_url is None:
            url = stack.enter_context(broker.embedded_valkey(settings.data_dir / "valkey"))
            settings = settings.model_copy(update={"redis_url": url})
        runtime.run(lambda stop: _run(settings, stop, chosen))


def _chosen_group(settings: Settings, group: Path | None) -> GroupFile | None:
    """The group ``--group`` names (Telegram, or ``source: demo``), or None for built-in demos."""
    if group is None:
        if settings.telegram_configured:
            typer.echo(
                "telesniff dev: a Telegram session is configured; give the chats to "
                "listen to with --group FILE (a ChatGroup YAML)",
                err=True,
            )
            raise typer.Exit(2)
        return None
    try:
        chosen = load_group_file(group)
    except SpecError as error:
        typer.echo(f"telesniff dev: {error}", err=True)
        raise typer.Exit(2) from None
    if chosen.spec.source == "telegram" and not settings.telegram_configured:
        typer.echo(
            f"telesniff dev: group {chosen.name!r} listens on Telegram and needs a session "
            "(TELESNIFF_TELEGRAM_SESSION; see `telesniff login`), or set `source: demo`",
            err=True,
        )
        raise typer.Exit(2)
    return chosen


async def _run(settings: Settings, stop: asyncio.Event, group: GroupFile | None) -> None:
    # Imported here, not at the top: every command module is imported to build the CLI,
    # and a consumer or gateway process should not carry Telethon and the rest in memory.
    from telesniff import serving
    from telesniff.consumer.worker import Consumer
    from telesniff.db.driver import Database
    from telesniff.gateway.app import create_app
    from telesniff.gateway.server import uvicorn_config
    from telesniff.listener.demo import DemoSource
    from telesniff.listener.service import run_listener
    from telesniff.listener.telegram.main import serve_telegram_group

    assert settings.redis_url is not None
    client = broker.connect(settings.redis_url, name="telesniff-dev")
    database = Database.from_url(settings.database_url_or_default())
    # Before the consumer starts writing; the gateway's start then finds it at head.
    await database.ensure_schema()
    consumer = Consumer(client, database, settings)
    server = serving.Server(
        uvicorn_config(settings, create_app(settings, redis=client), loop="none")
    )
    listeners_stop = asyncio.Event()
    if group is not None and group.spec.source == "telegram":
        # One session is one listener; the gateway already serves this process's metrics.
        listeners = [
            asyncio.create_task(
                serve_telegram_group(settings, group, client, listeners_stop, serve_health=False)
            )
        ]
    else:
        groups = (
            [(group.name, group.spec)]
            if group is not None
            else [(f"demo-{n}", _DEMO_SPEC) for n in range(1, settings.demo_groups + 1)]
        )
        listeners = [
            asyncio.create_task(
                run_listener(
                    client,
                    settings,
                    name,
                    spec,
                    DemoSource(rate=settings.demo_rate / len(groups)),
                    listeners_stop,
                )
            )
            for name, spec in groups
        ]
    for task in listeners:
        # A listener that fails (session in use, unresolvable chat) stops dev with its reason.
        task.add_done_callback(lambda done: _listener_ended(done, stop))
    consuming = asyncio.create_task(consumer.run())
    gateway_task = asyncio.create_task(serving.serve_until(server, stop))
    try:
        ready = asyncio.create_task(server.ready.wait())
        await asyncio.wait({ready, gateway_task}, return_when=asyncio.FIRST_COMPLETED)
        if server.ready.is_set():
            _announce(server.port, settings)
        await stop.wait()
    finally:
        # Upstream first, so everything received is stored before the gateway goes.
        listeners_stop.set()
        await asyncio.gather(*listeners, return_exceptions=True)
        consumer.stop()
        await asyncio.gather(consuming, return_exceptions=True)
        await gateway_task
        await client.aclose()
        typer.echo("telesniff dev stopped.", err=True)


def _listener_ended(task: asyncio.Task[object], stop: asyncio.Event) -> None:
    if not task.cancelled() and task.exception() is not None:
        typer.echo(f"telesniff dev: listener stopped: {task.exception()}", err=True)
        stop.set()


def _announce(port: int, settings: Settings) -> None:
    host = "127.0.0.1" if settings.host in {"0.0.0.0", "::"} else settings.host
    typer.echo(f"telesniff dev: dashboard at http://{host}:{port}/", err=True)
    typer.echo(f"telesniff dev: metrics at http://{host}:{port}/metrics", err=True)
