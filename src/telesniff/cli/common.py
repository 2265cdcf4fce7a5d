"""Helpers every command uses: settings with a clear error instead of a traceback."""

from __future__ import annotations

from typing import Any

import typer

from telesniff.settings import Settings, SettingsError, load_settings


def settings_or_exit(**overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as error:
        typer.echo(f"telesniff: bad settings: {error}", err=True)
        raise typer.Exit(2) from None
