"""Command-line entry point: importing the command modules registers them on ``app``."""

from __future__ import annotations

from telesniff.cli import consumer, detect, dev, listener, login, operator, replay  # noqa: F401
from telesniff.cli.app import app


def main() -> None:
    app()
