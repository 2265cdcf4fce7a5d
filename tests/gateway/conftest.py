"""Gateway fixtures, on the shared servers of tests/conftest.py (Debian Redis, Valkey)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .harness import GatewayFactory, gateway_factory


@pytest.fixture
def start_gateway(debian_redis_url: str, tmp_path: Path) -> GatewayFactory:
    """``async with start_gateway(**settings) as gw``: a real gateway on Debian's redis-server."""
    return gateway_factory(debian_redis_url, tmp_path)


@pytest.fixture
def start_gateway_on(tmp_path: Path) -> Callable[[str], GatewayFactory]:
    """``start_gateway_on(url)``: the same, on a given Redis/Valkey."""
    return lambda url: gateway_factory(url, tmp_path)
