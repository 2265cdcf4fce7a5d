"""The ``telesniff`` command; each subcommand lives in its own module."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="telesniff",
    help="Watch Telegram chats in real time and stream what matters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
