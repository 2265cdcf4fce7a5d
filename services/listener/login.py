"""``telesniff login``: create a Telethon StringSession, interactively.

The network half (``interactive_login``) talks to Telegram through a client
made by ``client_factory`` (a seam: tests replace it, since Telegram is not
reachable from them).  The rest is pure: the Kubernetes Secret manifest and
writing a file only its owner can read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml
from telethon import TelegramClient, errors
from telethon.sessions import StringSession

_DNS_SUBDOMAIN: Final = re.compile(
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
)
_DNS_LABEL: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_ATTEMPTS: Final = 3


class LoginError(RuntimeError):
    """Login cannot go on; the message says why (and never contains the secrets)."""


@dataclass(frozen=True)
class Prompts:
    ask: Callable[[str], str]  # visible input
    ask_secret: Callable[[str], str]  # hidden input
    say: Callable[[str], None]


def make_login_client(api_id: int, api_hash: str) -> Any:
    return TelegramClient(StringSession(), api_id, api_hash, receive_updates=False,
                          device_model="telesniff login")  # fmt: skip


client_factory: Callable[[int, str], Any] = make_login_client


async def interactive_login(api_id: int, api_hash: str, phone: str, prompts: Prompts) -> str:
    """Sign in with a code (and the 2FA password when the account has one); return the session."""
    client = client_factory(api_id, api_hash)
    try:
        await client.connect()
        await client.send_code_request(phone)
        prompts.say("Telegram sent a login code to your Telegram app (or by SMS).")
        await _sign_in(client, phone, prompts)
        return str(client.session.save())
    except errors.ApiIdInvalidError:
        raise LoginError(
            "Telegram rejected the API id / API hash pair (see my.telegram.org)"
        ) from None
    except errors.PhoneNumberInvalidError:
        raise LoginError(
            "Telegram says the phone number is not valid (use +<country><number>)"
        ) from None
    except errors.PhoneNumberBannedError:
        raise LoginError("Telegram says this phone number is banned") from None
    except errors.PhoneCodeExpiredError:
        raise LoginError("the login code expired; run `telesniff login` again") from None
    except (errors.FloodWaitError, errors.FloodPremiumWaitError) as error:
        raise LoginError(
            f"Telegram asks to wait {error.seconds}s before trying to log in again"
        ) from None
    except OSError as error:
        raise LoginError(f"cannot reach Telegram: {type(error).__name__}") from None
    finally:
        await client.disconnect()


async def _sign_in(client: Any, phone: str, prompts: Prompts) -> None:
    for _ in range(_ATTEMPTS):
        code = prompts.ask("Login code").strip().replace(" ", "")
        try:
            await client.sign_in(phone=phone, code=code)
            return
        except (errors.PhoneCodeInvalidError, errors.PhoneCodeEmptyError):
            prompts.say("That code is not valid; try again.")
        except errors.SessionPasswordNeededError:
            await _password(client, prompts)
            return
    raise LoginError(f"{_ATTEMPTS} invalid codes; run `telesniff login` again")


async def _password(client: Any, prompts: Prompts) -> None:
    prompts.say("This account has two-step verification.")
    for _ in range(_ATTEMPTS):
        password = prompts.ask_secret("Two-step verification password")
        try:
            await client.sign_in(password=password)
            return
        except errors.PasswordHashInvalidError:
            prompts.say("That password is not right; try again.")
    raise LoginError(f"{_ATTEMPTS} wrong passwords; run `telesniff login` again")


def check_secret_names(name: str, namespace: str | None) -> None:
    if len(name) > 253 or not _DNS_SUBDOMAIN.fullmatch(name):
        raise ValueError(
            f"--k8s-secret {name!r}: a Secret name is lowercase letters, digits, '-' and '.', "
            "starting and ending with a letter or digit (at most 253)"
        )
    if namespace is not None and (len(namespace) > 63 or not _DNS_LABEL.fullmatch(namespace)):
        raise ValueError(
            f"--namespace {namespace!r}: a namespace is lowercase letters, digits and '-', "
            "starting and ending with a letter or digit (at most 63)"
        )


def secret_manifest(
    name: str, namespace: str | None, *, session: str, api_id: int, api_hash: str
) -> str:
    """A Kubernetes Secret with the keys a ChatGroup's ``spec.telegram`` refers to."""
    check_secret_names(name, namespace)
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    metadata["labels"] = {"app.kubernetes.io/part-of": "telesniff"}
    document = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": "Opaque",
        # stringData: readable, and the API server stores it base64-encoded in data.
        "stringData": {"session": session, "api_id": str(api_id), "api_hash": api_hash},
    }
    return yaml.safe_dump(document, sort_keys=False, width=10_000)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600), even if it existed."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        os.fchmod(descriptor, 0o600)  # an existing file keeps its mode otherwise
        handle.write(text)
