"""``telesniff bench``: the real pipeline as separate processes, measured; see docs/bench.md."""

from __future__ import annotations

import time
from typing import Annotated

import orjson
import typer

from telesniff.bench.options import BenchOptions, OptionsError, parse_counts, parse_phases
from telesniff.cli.app import app


@app.command()
def bench(
    rate: Annotated[
        float, typer.Option(help="Latency phase: offered messages per second.")
    ] = 1000.0,
    duration: Annotated[
        float, typer.Option(help="Seconds per throughput step and for the latency phase.")
    ] = 10.0,
    ws_clients: Annotated[int, typer.Option(help="WebSocket clients on the gateway.")] = 100,
    consumers: Annotated[
        str, typer.Option(help="Consumer processes; a list (1,2,4) measures throughput with each.")
    ] = "1",
    burst: Annotated[int, typer.Option(help="Messages in the burst phase.")] = 10_000,
    phases: Annotated[
        str, typer.Option(help="Which phases to run: throughput,burst,latency.")
    ] = "throughput,burst,latency",
    database_url: Annotated[
        str | None, typer.Option(help="Database to write to (default: SQLite in a temp dir).")
    ] = None,
    postgres: Annotated[
        bool, typer.Option(help="Start a private PostgreSQL cluster for the run.")
    ] = False,
    redis_url: Annotated[
        str | None,
        typer.Option(help="Redis to use (default: start redis-server, else embedded Valkey)."),
    ] = None,
    client_processes: Annotated[
        int | None, typer.Option(help="Processes the WebSocket clients are spread over.")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of the table.")
    ] = False,
) -> None:
    """Measure throughput, a burst and latency on a real pipeline; cleans up after itself."""
    try:
        options = BenchOptions(
            rate=rate, duration=duration, ws_clients=ws_clients, consumers=parse_counts(consumers),
            burst=burst, phases=parse_phases(phases), database_url=database_url,
            postgres=postgres, redis_url=redis_url, client_processes=client_processes,
        )  # fmt: skip
    except OptionsError as error:
        typer.echo(f"telesniff bench: {error}", err=True)
        raise typer.Exit(2) from None

    # Imported here: every `telesniff` process imports the CLI, only this one runs a bench.
    from telesniff.bench.procs import ChildError
    from telesniff.bench.report import table
    from telesniff.bench.run import bench as run_bench
    from telesniff.bench.servers import ServerError

    started = time.monotonic()

    def say(line: str) -> None:
        typer.echo(f"bench: [{time.monotonic() - started:5.1f} s] {line}", err=True)

    try:
        results = run_bench(options, say)
    except (ChildError, ServerError) as error:
        typer.echo(f"telesniff bench: failed: {error}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("telesniff bench: interrupted; everything it started is stopped", err=True)
        raise typer.Exit(130) from None
    if json_output:
        typer.echo(orjson.dumps(results.to_json(), option=orjson.OPT_INDENT_2).decode())
    else:
        typer.echo(table(results))
