"""Debian's Chromium as the browser tests launch it (never a browser a tool downloads)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM: Final = Path("/usr/bin/chromium")
CHROMIUM_ARGS: Final = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@contextlib.contextmanager
def signed_in_page(
    url: str, username: str, password: str, *, width: int = 1440, height: int = 900
) -> Iterator[tuple[Page, list[str]]]:
    """A page of a fresh Chromium signed in at ``url``, and the script and console errors it collects.

    The caller asserts on the errors once done (some tests allow a failed load they caused).
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(30_000)
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        login = tab.context.request.post(
            f"{url}/api/v1/auth/login", data={"username": username, "password": password}
        )
        assert login.status == 200, login.text()
        try:
            yield tab, errors
        finally:
            context.close()
            browser.close()
