"""Browser fixtures: Debian's chromium driven by Playwright, and a real pipeline behind it.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium`` (the
``chromium`` Debian package, installed by ``make test``) through ``executable_path``.
Each launch gets a fresh temporary profile; each test a fresh browser context.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    async_playwright,
    expect,
)

from tests.browser.stack import Stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1600, "height": 900}
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"

StackFactory = Callable[..., Awaitable[Stack]]

expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if shutil.which(str(CHROMIUM)) is None:
        pytest.fail(
            "Debian's chromium is not installed (apt-get install -y chromium; make test does)"
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


@pytest.fixture
async def start_stack(debian_redis_url: str, tmp_path: Path) -> AsyncIterator[StackFactory]:
    """``await start_stack(**settings)``: a consumer and a gateway on a fresh stream and DB."""
    stacks: list[Stack] = []

    async def start(**overrides: Any) -> Stack:
        stack = Stack(debian_redis_url, tmp_path, **overrides)
        stacks.append(stack)
        await stack.start()
        return stack

    yield start
    for stack in stacks:
        await stack.close()


@pytest.fixture
async def stack(start_stack: StackFactory) -> Stack:
    return await start_stack()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(viewport=VIEWPORT, color_scheme="dark")
    yield context
    await context.close()


class PageErrors(list[str]):
    """Uncaught exceptions in the page; a test fails if any happened."""


@pytest.fixture
async def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
async def open_page(
    context: BrowserContext, page_errors: PageErrors
) -> AsyncIterator[Callable[[Stack, str], Awaitable[Page]]]:
    """``await open_page(stack, "?group=x")``: the dashboard of that stack, live."""
    pages: list[Page] = []

    async def open_(stack: Stack, query: str = "") -> Page:
        await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.url)
        page = await context.new_page()
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        pages.append(page)
        await page.goto(f"{stack.url}/{query}")
        return page

    yield open_
    for page in pages:
        await page.close()
    assert not page_errors, f"uncaught errors in the page: {page_errors}"
