"""The built web app in headless Chromium against a real ``k2q up`` (embedded stores, demo data).

Needs ``web/dist`` (``cd web && npm run build``) and Debian's ``/usr/bin/chromium``; skipped
without either. One server and one browser serve the whole module.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.process import K2qServer, start_up

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DIST_INDEX = ROOT / "web" / "dist" / "index.html"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css"}
VIEWPORT = {"width": 1440, "height": 900}
CHART = "[data-testid=chart]"
CHART_DATA = "/api/v1/stocks/chart-data"
# Approximate bucket widths in minutes, to order the `data-bucket` values the server answers with.
BUCKET_MINUTES = {
    "1m": 1,
    "5m": 5,
    "15m": 15,
    "30m": 30,
    "1h": 60,
    "4h": 240,
    "1d": 1440,
    "1w": 10080,
    "1M": 43200,
}

# Reads back the chart's main pane canvas (the largest): pixels unlike the background (its top-left
# pixel) and pixels in the up/down candle colours (#26a69a, #ef5350; see web/src/chart/series.ts).
CANVAS_INK_JS = """
(chart) => {
  const canvases = [...chart.querySelectorAll("canvas")];
  const main = canvases.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
  const { data } = main.getContext("2d").getImageData(0, 0, main.width, main.height);
  const near = (i, [r, g, b], tolerance) =>
    Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) <= tolerance;
  const background = [data[0], data[1], data[2]];
  let ink = 0, up = 0, down = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (!near(i, background, 30)) ink += 1;
    if (near(i, [0x26, 0xa6, 0x9a], 40)) up += 1;
    if (near(i, [0xef, 0x53, 0x50], 40)) down += 1;
  }
  return { pixels: data.length / 4, ink, up, down };
}
"""


def _unavailable(reason: str) -> None:
    """Skip on a developer machine without the browser; CI sets K2Q_REQUIRE_BROWSER and fails instead."""
    if os.environ.get("K2Q_REQUIRE_BROWSER"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)


if not DIST_INDEX.is_file():
    _unavailable(f"no {DIST_INDEX}: build the app first (just web)")
if not CHROMIUM.is_file():
    _unavailable(f"no {CHROMIUM}: apt-get install --no-install-recommends chromium")

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[K2qServer]:
    """One ``k2q up`` with the demo datasets, serving the built app at ``/``."""
    k2q = start_up(tmp_path_factory.mktemp("k2q-web"))
    try:
        yield k2q
    finally:
        k2q.stop()


@pytest.fixture(scope="module")
def app(server: K2qServer) -> str:
    """The app's URL, once its built assets are served as browsers need them (else every page is blank)."""
    assert httpx.get(server.url, timeout=10).headers["content-type"].startswith("text/html")
    for asset in sorted((ROOT / "web" / "dist" / "assets").iterdir()):
        if asset.suffix not in MEDIA_TYPES:
            continue
        answer = httpx.get(f"{server.url}/assets/{asset.name}", timeout=10)
        seen = (asset.name, answer.status_code, dict(answer.headers))
        assert answer.status_code == 200, seen
        # Browsers refuse a module script of any other type ("Strict MIME type checking").
        assert answer.headers["content-type"].split(";")[0] == MEDIA_TYPES[asset.suffix], seen
        assert not answer.headers.get("content-disposition", "").startswith("attachment"), seen
    return server.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page; any uncaught script error or console error fails the test."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    tab.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    try:
        yield tab
    finally:
        context.close()
    assert errors == []


def tables(app: str) -> list[dict[str, Any]]:
    answer: list[dict[str, Any]] = httpx.get(f"{app}/api/v1/stocks/tables", timeout=10).json()
    return answer


def demo_table(app: str, timespan: str) -> str:
    return next(t["table"] for t in tables(app) if t["symbol"] == "DEMO" and t["timespan"] == timespan)


def wait_for_bars(page: Page) -> int:
    """Waits until the chart has finished loading a slice with bars; returns the bar count."""
    page.wait_for_function(
        """(sel) => { const c = document.querySelector(sel);
                      return c !== null && c.dataset.loading === "false" && Number(c.dataset.bars) > 0; }""",
        arg=CHART,
    )
    return int(page.locator(CHART).get_attribute("data-bars") or 0)


def url_window(url: str) -> tuple[int, int] | None:
    """The visible window (``from``/``to``, epoch ms) an Analysis URL carries."""
    query = parse_qs(urlparse(url).query)
    return (int(query["from"][0]), int(query["to"][0])) if "from" in query and "to" in query else None


def painted(page: Page) -> None:
    """Waits two animation frames, so the chart has drawn what it was last given."""
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


def assert_chart_drawn(page: Page) -> None:
    ink = page.locator(CHART).evaluate(CANVAS_INK_JS)
    # Hundreds of candles, rising and falling, cover a few per cent of the pane; a blank pane is one colour.
    assert ink["ink"] > 0.02 * ink["pixels"], ink
    assert ink["up"] > 0.003 * ink["pixels"], ink
    assert ink["down"] > 0.003 * ink["pixels"], ink


def test_analysis_draws_daily_demo_bars(app: str, page: Page) -> None:
    page.goto(f"{app}/analysis?table={demo_table(app, 'day')}&tf=1d")
    assert wait_for_bars(page) > 100
    painted(page)
    assert_chart_drawn(page)
    expect(page.locator(".chart-head [data-testid=synthetic-badge]")).to_be_visible()
    expect(page.locator("[data-testid=dataset-item][data-selected=true]")).to_have_count(1)
    page.screenshot(path="/tmp/analysis.png")


def test_zooming_in_loads_a_finer_slice(app: str, page: Page) -> None:
    page.goto(f"{app}/analysis?table={demo_table(app, 'minute')}&tf=1m")
    wait_for_bars(page)
    chart = page.locator(CHART)
    first_bucket = chart.get_attribute("data-bucket") or ""
    assert BUCKET_MINUTES[first_bucket] >= 60, first_bucket
    # The first view is written back to the URL (debounced) once the chart settles.
    page.wait_for_url(lambda url: url_window(url) is not None)
    before = url_window(page.url)
    assert before is not None

    box = chart.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.4)
    with page.expect_response(lambda r: CHART_DATA in r.url and r.request.method == "POST") as answer:
        for _ in range(25):
            page.mouse.wheel(0, -400)
            page.wait_for_timeout(20)
    assert answer.value.ok
    wait_for_bars(page)
    page.wait_for_function(
        "([sel, bucket]) => document.querySelector(sel).dataset.bucket !== bucket", arg=[CHART, first_bucket]
    )
    finer = chart.get_attribute("data-bucket") or ""
    assert BUCKET_MINUTES[finer] < BUCKET_MINUTES[first_bucket], (first_bucket, finer)
    page.wait_for_url(lambda url: url_window(url) != before)
    after = url_window(page.url)
    assert after is not None
    assert after[1] - after[0] < (before[1] - before[0]) / 4, (before, after)
    painted(page)
    assert_chart_drawn(page)


def test_landing_lists_datasets_and_ready_stores(app: str, page: Page) -> None:
    expected = tables(app)
    ready = httpx.get(f"{app}/ready", timeout=10).json()
    page.goto(app)
    expect(page.locator("[data-testid=dataset-card]")).to_have_count(len(expected))
    expect(page.locator("[data-testid=store-status]")).to_have_attribute("data-ready", "true")
    expect(page.locator("[data-store][data-ok=true]")).to_have_count(len(ready["stores"]))
    expect(page.locator("[data-store][data-ok=false]")).to_have_count(0)


def test_synthetic_fetch_completes_and_opens_analysis(app: str, page: Page) -> None:
    today = dt.date.today()
    page.goto(f"{app}/fetch")
    form = page.locator("[data-testid=fetch-form]")
    form.locator("input[name=symbols]").fill("WEBT")
    form.locator("select[name=timespan]").select_option("minute")
    form.locator("input[name=from]").fill((today - dt.timedelta(days=5)).isoformat())
    form.locator("input[name=to]").fill(today.isoformat())
    form.get_by_text("Synthetic", exact=True).click()
    page.locator("[data-testid=fetch-submit]").click()

    job = page.locator("[data-testid=job]")
    expect(job).to_have_attribute("data-state", "complete", timeout=30_000)
    link = job.locator("[data-testid=job-dataset-link]")
    expect(link).to_have_count(1)
    link.click()
    page.wait_for_url("**/analysis?*")
    assert parse_qs(urlparse(page.url).query)["table"][0].startswith("webt_1minute_")
    assert wait_for_bars(page) > 0
    painted(page)
    assert_chart_drawn(page)
