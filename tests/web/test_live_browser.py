"""The Analysis chart's last candle follows the synthetic live feed, in headless Chromium.

A ``k2q up`` of its own with the live demo on (other browser tests keep it off, so their charts
hold still). Needs a built web app (``web/dist``, or ``K2Q_TEST_WEB_DIST``) and ``/usr/bin/chromium``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.process import K2qServer, running_up
from tests.web.chromium import CHROMIUM, signed_in_page

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DIST = Path(os.environ.get("K2Q_TEST_WEB_DIST") or ROOT / "web" / "dist")
CHART = "[data-testid=chart]"
STRIP = "[data-testid=crosshair-strip]"
BADGE = "[data-testid=live-badge]"
MINUTE_MS = 60_000

if not (DIST / "index.html").is_file() or not CHROMIUM.is_file():
    reason = f"needs {DIST / 'index.html'} (just web) and {CHROMIUM}"
    if os.environ.get("K2Q_REQUIRE_BROWSER"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)

from playwright.sync_api import Page, expect  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[K2qServer]:
    with running_up(
        tmp_path_factory.mktemp("k2q-live-web"), K2Q_LIVE_DEMO="1", K2Q_WEB_DIST=str(DIST)
    ) as k2q:
        yield k2q


@pytest.fixture
def page(server: K2qServer) -> Iterator[Page]:
    user = {"username": "live-viewer", "password": "correct horse live staple", "role": "viewer"}
    created = httpx.post(f"{server.url}/api/v1/admin/users", json=user, headers=server.headers(), timeout=10)
    assert created.status_code in (200, 201, 409), created.text
    with signed_in_page(server.url, user["username"], user["password"]) as (tab, errors):
        yield tab
        assert errors == []


def demo_minute_table(server: K2qServer) -> str:
    tables = httpx.get(f"{server.url}/api/v1/stocks/tables", headers=server.headers(), timeout=10).json()
    return next(t["table"] for t in tables if t["symbol"] == "DEMO" and t["timespan"] == "minute")


def test_the_last_candle_follows_live_updates(server: K2qServer, page: Page):
    now = int(time.time() * 1000)
    window = f"from={now - 90 * MINUTE_MS}&to={now + MINUTE_MS}"
    page.goto(f"{server.url}/analysis?table={demo_minute_table(server)}&tf=1m&{window}")
    page.wait_for_function(
        """(sel) => { const c = document.querySelector(sel);
                      return c && c.dataset.loading === "false" && Number(c.dataset.bars) > 0; }""",
        arg=CHART,
    )
    page.mouse.move(5, 5)  # off the chart: the strip shows the last bar, not a hovered one
    assert page.locator(CHART).get_attribute("data-bucket") == "1m"
    badge = page.locator(BADGE)
    expect(badge).to_be_visible()
    expect(badge).to_contain_text("synthetic")
    strip = page.locator(STRIP)
    expect(strip).to_have_attribute("data-hovered", "false")
    before = strip.inner_text()
    updates = int(badge.get_attribute("data-updates") or 0)
    # The feed sends the forming minute every two seconds: its volume only grows, so the strip changes.
    page.wait_for_function(
        "([sel, text]) => document.querySelector(sel).innerText !== text", arg=[STRIP, before], timeout=30_000
    )
    assert int(badge.get_attribute("data-updates") or 0) > updates
    last_ts = int(badge.get_attribute("data-last-ts") or 0)
    assert abs(last_ts - now) < 3 * MINUTE_MS
    # The last candle is the live minute: the strip shows its time (New York), to the minute.
    bars = int(page.locator(CHART).get_attribute("data-bars") or 0)
    assert bars > 30
    page.screenshot(path="/tmp/analysis-live.png")
