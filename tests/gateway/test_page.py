"""The dashboard page at ``/`` and its static files (whatever the dashboard ships)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

import telesniff.gateway.app as gateway_app

from .harness import GatewayFactory


async def test_serves_index_and_static_files(
    start_gateway: GatewayFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    static = tmp_path / "static"
    static.mkdir()
    (static / "index.html").write_text("<!doctype html><title>page-marker</title>")
    (static / "app.js").write_text("export const marker = 42;")
    monkeypatch.setattr(gateway_app, "STATIC_DIR", static)
    async with (
        start_gateway() as gw,
        httpx.AsyncClient(base_url=gw.base_url) as client,
    ):
        page = await client.get("/")
        assert page.status_code == 200
        assert "page-marker" in page.text
        assert page.headers["content-type"].startswith("text/html")
        script = await client.get("/static/app.js")
        assert script.status_code == 200
        assert script.text == "export const marker = 42;"
        assert "javascript" in script.headers["content-type"]
        assert (await client.get("/static/missing.js")).status_code == 404
        assert (await client.get("/static/../conftest.py")).status_code == 404


async def test_placeholder_without_the_dashboard(
    start_gateway: GatewayFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway_app, "STATIC_DIR", tmp_path / "nothing-here")
    async with (
        start_gateway() as gw,
        httpx.AsyncClient(base_url=gw.base_url) as client,
    ):
        page = await client.get("/")
        assert page.status_code == 200
        assert "dashboard page is not installed" in page.text
        assert (await client.get("/static/app.js")).status_code == 404


async def test_the_installed_dashboard_is_served(start_gateway: GatewayFactory) -> None:
    index = gateway_app.STATIC_DIR / "index.html"
    if not index.is_file():
        pytest.skip("the dashboard page is not installed yet")
    async with (
        start_gateway() as gw,
        httpx.AsyncClient(base_url=gw.base_url) as client,
    ):
        page = await client.get("/")
        assert page.status_code == 200
        assert page.text == index.read_text()
