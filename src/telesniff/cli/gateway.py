"""``telesniff gateway``: the REST/WebSocket gateway and the dashboard page."""

from __future__ import annotations

from typing import Annotated

import typer

from telesniff.cli.app import app
from telesniff.cli.common import settings_or_exit

REDIS_REQUIRED = (
    "TELESNIFF_REDIS_URL is required for `telesniff gateway`; "
    "`telesniff dev` starts an embedded server"
)


@app.command()
def gateway(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    access_log: Annotated[bool, typer.Option(help="Log every HTTP request.")] = False,
) -> None:
    """Serve the REST API, the WebSocket live feed and the dashboard page."""
    settings = settings_or_exit(host=host, port=port)
    if not settings.redis_url:
        typer.echo(f"telesniff: {REDIS_REQUIRED}", err=True)
        raise typer.Exit(2)
    from telesniff import runtime
    from telesniff.gateway.server import run  # imported here: other commands start faster

    runtime.setup_logging(settings.log_level)
    run(settings, access_log=access_log)
