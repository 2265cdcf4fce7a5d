"""``telesniff login``: create a Telegram session (a Telethon StringSession) interactively."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from telesniff.cli.app import app
from telesniff.listener import redact
from telesniff.settings import SettingsError, load_settings


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"telesniff login: {message}", err=True)
    return typer.Exit(code)


def _ask(text: str) -> str:
    # Prompts go to stderr: stdout carries only the session (or the manifest).
    return str(typer.prompt(text, err=True))


def _ask_secret(text: str) -> str:
    return str(typer.prompt(text, hide_input=True, err=True))


def _say(text: str) -> None:
    typer.echo(text, err=True)


@app.command()
def login(
    k8s_secret: Annotated[
        str | None,
        typer.Option(
            "--k8s-secret",
            metavar="NAME",
            help="Print a Kubernetes Secret manifest (keys session, api_id, api_hash).",
        ),
    ] = None,
    namespace: Annotated[
        str | None, typer.Option(help="Namespace for the Secret (with --k8s-secret).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(help="Write to this file (mode 0600) instead of printing."),
    ] = None,
) -> None:
    """Log in to Telegram and print a session string for TELESNIFF_TELEGRAM_SESSION.

    Asks for the API id and hash (my.telegram.org), the phone number, the login
    code and, when the account has one, the two-step verification password.
    Nothing is written to disk unless --output is given.
    """
    from telesniff.listener import login as flow  # Telethon: loaded only for this command

    if namespace is not None and k8s_secret is None:
        raise _fail("--namespace only applies with --k8s-secret NAME")
    if k8s_secret is not None:
        try:
            flow.check_secret_names(k8s_secret, namespace)
        except ValueError as error:
            raise _fail(str(error)) from None
    try:
        settings = load_settings()
        api_id, api_hash = settings.telegram_api_id, settings.telegram_api_hash
    except SettingsError:
        api_id, api_hash = None, None  # login is how broken Telegram settings get fixed
    if api_id is None:
        api_id = int(typer.prompt("API id (from my.telegram.org)", type=int, err=True))
    hash_value = (
        api_hash.get_secret_value() if api_hash is not None else _ask_secret("API hash")
    ).strip()
    phone = _ask("Phone number (international format, e.g. +15551234567)").strip()
    redact.install([hash_value, phone])
    prompts = flow.Prompts(ask=_ask, ask_secret=_ask_secret, say=_say)
    try:
        session = asyncio.run(flow.interactive_login(api_id, hash_value, phone, prompts))
    except flow.LoginError as error:
        raise _fail(str(error), 1) from None
    redact.install([session])
    if k8s_secret is not None:
        text = flow.secret_manifest(
            k8s_secret, namespace, session=session, api_id=api_id, api_hash=hash_value
        )
    else:
        text = session + "\n"
    if output is not None:
        flow.write_private(output, text)
        what = "the Secret manifest" if k8s_secret else "the session"
        _say(f"Wrote {what} to {output} (mode 0600).")
    else:
        typer.echo(text, nl=False)
    _say("Keep it secret: the session gives full access to the Telegram account.")
