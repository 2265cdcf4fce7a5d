"""The session string, the API hash and the phone number never reach a log line."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
import redis.asyncio as aioredis

from telesniff.groupspec import GroupSpec
from telesniff.listener import redact
from tests.listener.conftest import Rig
from tests.listener.harness import API_HASH, SOLANA, Channel, stream_entries, user
from tests.waiting import until


async def test_secrets_are_absent_from_everything_logged(
    rig: Callable[..., Rig], redis: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    alpha = Channel(1700000060, "Secretive", username="secretcalls")
    r = rig(GroupSpec(chats=["@secretcalls"]))
    r.api.usernames["secretcalls"] = alpha.info
    phone = "+15551234567"
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="telethon"):
        r.start()
        await r.live()
        redact.install([phone])
        caller = user(61, "caller")
        r.api.feed(alpha.new(alpha.message(1, f"call {SOLANA}", caller), caller))
        await until(lambda: _any(redis, r.settings.stream), "the call")
        # Accidents the filter exists for: a library logging a request or a session, an
        # exception whose message carries a secret, a repr of a config object.
        logging.getLogger("telethon.network").debug("auth with session %s", r.session)
        logging.getLogger("some.library").info("%r", {"api_hash": API_HASH, "phone": phone})
        try:
            raise RuntimeError(f"login failed for {phone} with {API_HASH}")
        except RuntimeError:
            logging.getLogger("telesniff.listener").exception("unexpected")
        await r.halt()

    assert "caught up; live" in caplog.text  # the listener's own lines were captured
    for secret in (r.session, API_HASH, phone):
        assert secret not in caplog.text
        assert all(secret not in record.getMessage() for record in caplog.records)
        assert all(secret not in (record.exc_text or "") for record in caplog.records)
    assert "auth with session [redacted]" in caplog.text
    assert "login failed for [redacted] with [redacted]" in caplog.text


async def _any(redis: aioredis.Redis, stream: str) -> bool:
    return bool(await stream_entries(redis, stream))


def test_filter_redacts_longest_first_and_ignores_tiny_values() -> None:
    secret_filter = redact.SecretFilter(["abcdef", "abcdefghij", "12"])
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "%s and %s and 12", ("abcdefghij", "abcdef"), None
    )
    secret_filter.filter(record)
    assert record.getMessage() == "[redacted] and [redacted] and 12"
