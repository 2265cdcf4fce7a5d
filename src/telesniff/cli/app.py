"""The ``telesniff`` command; each subcommand lives in its own module."""

from __future__ import annotations

from typing import Annotated

import typer

from telesniff import __version__

app = typer.Typer(
    name="telesniff",
    help="Watch Telegram chats in real time and stream what matters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"telesniff {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Watch Telegram chats in real time and stream what matters."""
