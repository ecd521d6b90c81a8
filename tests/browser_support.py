"""Headless Debian chromium driven by Playwright (its bundled driver; never
``playwright install``).  Tests using it skip where chromium or playwright is absent."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextlib.asynccontextmanager
async def browser_page(width: int = 1200, height: int = 800) -> AsyncIterator[Any]:
    """A page of a fresh chromium profile (its own user-data dir, removed afterwards)."""
    playwright = pytest.importorskip("playwright.async_api")
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not installed")
    with tempfile.TemporaryDirectory(prefix="policybench-chromium-") as profile:
        async with playwright.async_playwright() as p:
            context = await p.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                args=ARGS,
                headless=True,
                viewport={"width": width, "height": height},
            )
            try:
                page = context.pages[0] if context.pages else await context.new_page()
                page.set_default_timeout(30_000)
                yield page
            finally:
                await context.close()
