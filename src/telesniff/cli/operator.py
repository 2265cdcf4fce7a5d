"""``telesniff operator``: the Kubernetes operator for ChatGroups."""

from __future__ import annotations

from typing import Annotated

import typer

from telesniff.cli.app import app


@app.command("operator")
def operator_command(
    namespace: Annotated[
        list[str] | None,
        typer.Option(
            "--namespace", "-n", help="Watch this namespace (repeatable); default: all namespaces."
        ),
    ] = None,
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="Watch every namespace.")
    ] = False,
    peering: Annotated[
        str | None, typer.Option(help="kopf peering object name (HA); see --standalone.")
    ] = None,
    standalone: Annotated[
        bool, typer.Option(help="No peering: the only replica (development, tests).")
    ] = False,
    priority: Annotated[
        int | None, typer.Option(help="Peering priority (default: random).")
    ] = None,
    liveness: Annotated[
        str | None, typer.Option(help="Liveness endpoint, e.g. http://0.0.0.0:8080/healthz.")
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Prometheus metrics port (0: none).")
    ] = None,
    log_level: Annotated[str | None, typer.Option(help="DEBUG, INFO, WARNING, ...")] = None,
) -> None:
    """Reconcile ChatGroups into listener workloads; validate them at admission.

    Everything else comes from TELESNIFF_OPERATOR_* variables (see docs/operator.md).
    """
    # Imported here: kopf and the operator are only loaded by this command.
    from telesniff.operator.runner import run
    from telesniff.operator.settings import OperatorSettingsError, load_operator_settings

    if namespace and all_namespaces:
        typer.echo(
            "telesniff operator: --namespace and --all-namespaces exclude each other", err=True
        )
        raise typer.Exit(2)
    overrides: dict[str, object] = {
        "namespaces": [] if all_namespaces else namespace,
        "peering_name": "" if standalone else peering,
        "priority": priority,
        "liveness_endpoint": liveness,
        "metrics_port": metrics_port,
        "log_level": log_level,
    }
    try:
        settings = load_operator_settings(**overrides)
    except OperatorSettingsError as error:
        typer.echo(f"telesniff operator: bad settings: {error}", err=True)
        raise typer.Exit(2) from None
    run(settings)
