"""``telesniff listener --group FILE``: one Telegram listener for one ChatGroup."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated

import typer

from telesniff import broker, runtime
from telesniff.cli.app import app
from telesniff.cli.common import settings_or_exit
from telesniff.detect import Detector
from telesniff.groupspec import GroupFile, SpecError, load_group_file
from telesniff.listener import redact
from telesniff.settings import Settings


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"telesniff listener: {message}", err=True)
    return typer.Exit(code)


@app.command()
def listener(
    group: Annotated[
        Path,
        typer.Option(
            "--group", help="ChatGroup YAML: a `kind: ChatGroup` manifest or a bare spec."
        ),
    ],
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help=(
                "Feed the group from the demo source instead of Telegram (local clusters, "
                "Tilt); the same as `source: demo` in the group's spec."
            ),
        ),
    ] = False,
) -> None:
    """Listen to a ChatGroup's chats on Telegram and append what matters to the stream.

    Credentials come from TELESNIFF_TELEGRAM_SESSION, TELESNIFF_TELEGRAM_API_ID and
    TELESNIFF_TELEGRAM_API_HASH (environment or secret files); see docs/listener.md.
    A group whose spec says `source: demo` (or --demo) runs the demo source and needs none.
    """
    # Telethon is imported when this command runs: every command module is imported to
    # build the CLI, and the other processes should not carry it in memory.
    from telesniff.listener.lease import LeaseHeld, LeaseLost
    from telesniff.listener.telegram.api import ListenerError
    from telesniff.listener.telegram.runner import credentials

    settings = settings_or_exit()
    # Before anything can log: the secrets never reach a log line, whatever logs it.
    redact.install(
        secret.get_secret_value()
        for secret in (settings.telegram_session, settings.telegram_api_hash)
        if secret is not None
    )
    runtime.setup_logging(settings.log_level)
    # Everything that can be checked without the network is checked now, by name.
    try:
        group_file = load_group_file(group)
        Detector.from_spec(group_file.spec)
    except (SpecError, ValueError) as error:
        raise _fail(str(error)) from None
    if group_file.spec.suspend:
        typer.echo(
            f"telesniff listener: group {group_file.name!r} is suspended; not starting", err=True
        )
        return
    # The group file decides (the operator writes `source` into it); --demo forces it.
    demo = demo or group_file.spec.demo
    if not demo:
        try:
            credentials(settings)
        except ListenerError as error:
            raise _fail(str(error)) from None
    if settings.redis_url is None:
        raise _fail("TELESNIFF_REDIS_URL is required (the stream and the session lease live there)")
    try:
        runtime.run(lambda stop: (_run_demo if demo else _run)(settings, group_file, stop))
    except (LeaseHeld, LeaseLost, ListenerError) as error:
        raise _fail(str(error), 1) from None


async def _run(settings: Settings, group: GroupFile, stop: asyncio.Event) -> None:
    from telesniff.listener.telegram.main import serve_telegram_group

    assert settings.redis_url is not None
    redis = broker.connect(settings.redis_url, name=f"listener-{group.name}")
    try:
        await serve_telegram_group(settings, group, redis, stop)
    finally:
        await redis.aclose()


async def _run_demo(settings: Settings, group: GroupFile, stop: asyncio.Event) -> None:
    from telesniff.listener.demo import DemoSource
    from telesniff.listener.service import run_listener
    from telesniff.observability import MetricsServer

    assert settings.redis_url is not None
    redis = broker.connect(settings.redis_url, name=f"listener-{group.name}")
    try:
        async with contextlib.AsyncExitStack() as stack:
            if settings.metrics_port is not None:
                health = MetricsServer(
                    lambda: {"group": group.name, "source": "demo"}, component="listener"
                )
                await stack.enter_async_context(health.serve("0.0.0.0", settings.metrics_port))
            source = DemoSource(rate=settings.demo_rate)
            await run_listener(redis, settings, group.name, group.spec, source, stop)
    finally:
        await redis.aclose()
