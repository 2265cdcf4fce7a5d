"""The gateway: WebSocket live feed, REST history and search, the dashboard page."""

from __future__ import annotations

from telesniff.gateway.app import GatewayConfigError, create_app

__all__ = ["GatewayConfigError", "create_app"]
