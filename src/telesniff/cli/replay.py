"""``telesniff replay EXPORT``: a Telegram Desktop export through detection into the stream."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from telesniff import broker, runtime
from telesniff.cli.app import app
from telesniff.cli.common import settings_or_exit
from telesniff.groupspec import GroupSpec, SpecError, load_group_file
from telesniff.settings import Settings

if TYPE_CHECKING:
    from telesniff.listener.export import Export
    from telesniff.listener.replay import ReplayResult


def _fail(message: str) -> typer.Exit:
    typer.echo(f"telesniff replay: {message}", err=True)
    return typer.Exit(2)


@app.command()
def replay(
    export: Annotated[
        Path, typer.Argument(help="result.json from Telegram Desktop (Export chat history, JSON).")
    ],
    group: Annotated[
        str, typer.Option(help="ChatGroup name the entries are stored under.")
    ] = "replay",
    spec: Annotated[
        Path | None,
        typer.Option(
            help="ChatGroup YAML whose detection settings to use (its chats are ignored)."
        ),
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(min=0.001, help="Messages per second; full speed when not given."),
    ] = None,
) -> None:
    """Replay a chat export through the same detection and stream path as live messages.

    Needs TELESNIFF_REDIS_URL (the Redis the consumers read).  The whole file is
    validated first: a malformed export writes nothing.
    """
    # Telethon is loaded only when this command runs (see cli/listener.py).
    from telesniff.listener.export import ExportError, load_export

    settings = settings_or_exit()
    if settings.redis_url is None:
        raise _fail(
            "TELESNIFF_REDIS_URL is required: replay appends to the stream the consumers read "
            "(`telesniff dev` logs the URL of its embedded server)"
        )
    runtime.setup_logging(settings.log_level)
    try:
        detection = load_group_file(spec).spec if spec is not None else None
        parsed = load_export(export)
    except (SpecError, ExportError) as error:
        raise _fail(str(error)) from None
    if detection is None:
        first = parsed.chats[0].chat_id if parsed.chats else 0
        detection = GroupSpec(chats=[first])
    result = _with_progress(settings, group, detection, parsed, rate)
    skipped = ", ".join(f"{count} {kind}" for kind, count in sorted(parsed.skipped.items()))
    typer.echo(
        f"telesniff replay: {result.messages} of {parsed.message_count} message(s) from "
        f"{len(parsed.chats)} chat(s) into group {group!r}: {result.appended} detection(s) "
        f"appended to {settings.stream}" + (f"; skipped {skipped}" if skipped else ""),
        err=True,
    )


def _with_progress(
    settings: Settings, group: str, spec: GroupSpec, parsed: Export, rate: float | None
) -> ReplayResult:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )  # fmt: skip

    from telesniff.listener.replay import ReplaySource
    from telesniff.listener.replay import replay as run_replay

    results: list[ReplayResult] = []
    progress = Progress(
        TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=Console(stderr=True),
    )  # fmt: skip
    task = progress.add_task("replay", total=parsed.message_count)
    source = ReplaySource(
        list(parsed.messages), rate=rate, on_message=lambda _: progress.advance(task)
    )

    async def main(stop: asyncio.Event) -> None:
        assert settings.redis_url is not None
        client = broker.connect(settings.redis_url, name=f"replay-{group}")
        try:
            results.append(await run_replay(client, settings, group, spec, source, stop))
        finally:
            await client.aclose()

    with progress:
        runtime.run(main)
    if not results:  # interrupted twice: the second Ctrl-C cancels without draining
        raise typer.Exit(130)
    return results[0]
