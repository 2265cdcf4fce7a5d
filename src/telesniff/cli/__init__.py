"""Command-line entry point: importing the command modules registers them on ``app``."""

from __future__ import annotations

from telesniff.cli import (  # noqa: F401  (importing registers the commands)
    bench,
    consumer,
    detect,
    dev,
    gateway,
    listener,
    login,
    operator,
    replay,
)
from telesniff.cli.app import app


def main() -> None:
    app()
