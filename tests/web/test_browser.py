"""The built web app in headless Chromium against a real ``k2q up`` (embedded stores, demo data).

Needs ``web/dist`` (``cd web && npm run build``) and Debian's ``/usr/bin/chromium``; skipped
without either. One server and one browser serve the whole module.
"""

from __future__ import annotations

import datetime as dt
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
VIEWPORT = {"width": 1440, "height": 900}
CHART = "[data-testid=chart]"
CHART_DATA = "/api/v1/stocks/chart-data"
# Approximate bucket widths in minutes, to order the `data-bucket` values the server answers with.
BUCKET_MINUTES = {"1m": 1, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "4h": 240, "1d": 1440, "1w": 10080, "1M": 43200}

# Counts the pixels of the chart's main pane canvas that differ from its background (the top-left pixel).
CANVAS_INK_JS = """
(chart) => {
  const canvases = [...chart.querySelectorAll("canvas")];
  const main = canvases.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
  const { data, width, height } = main.getContext("2d").getImageData(0, 0, main.width, main.height);
  const [r0, g0, b0] = [data[0], data[1], data[2]];
  const colours = new Set();
  let ink = 0;
  for (let i = 0; i < data.length; i += 4) {
    const d = Math.abs(data[i] - r0) + Math.abs(data[i + 1] - g0) + Math.abs(data[i + 2] - b0);
    if (d > 30) ink += 1;
    colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
  }
  return { ink, pixels: width * height, colours: colours.size };
}
"""

if not DIST_INDEX.is_file():
    pytest.skip(f"{DIST_INDEX} is missing: build the web app first (cd web && npm run build)", allow_module_level=True)
if not CHROMIUM.is_file():
    pytest.skip(f"{CHROMIUM} is missing: apt-get install -y --no-install-recommends chromium", allow_module_level=True)

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


def tables(server: K2qServer) -> list[dict[str, Any]]:
    answer: list[dict[str, Any]] = httpx.get(f"{server.url}/api/v1/stocks/tables", timeout=10).json()
    return answer


def demo_table(server: K2qServer, timespan: str) -> str:
    return next(t["table"] for t in tables(server) if t["symbol"] == "DEMO" and t["timespan"] == timespan)


def wait_for_bars(page: Page) -> int:
    """Waits until the chart has finished loading a slice with bars; returns the bar count."""
    page.wait_for_function(
        """(sel) => { const c = document.querySelector(sel);
                      return c !== null && c.dataset.loading === "false" && Number(c.dataset.bars) > 0; }""",
        arg=CHART,
    )
    return int(page.locator(CHART).get_attribute("data-bars") or 0)


def url_window(page: Page) -> tuple[int, int]:
    query = parse_qs(urlparse(page.url).query)
    return int(query["from"][0]), int(query["to"][0])


def assert_chart_drawn(page: Page) -> None:
    ink = page.locator(CHART).evaluate(CANVAS_INK_JS)
    # Candles, volume bars and grid cover a good share of the pane; a blank one is a single colour.
    assert ink["colours"] > 20, ink
    assert ink["ink"] > 0.02 * ink["pixels"], ink


def test_app_assets_have_their_media_types(server: K2qServer) -> None:
    """Browsers refuse module scripts served as anything but JavaScript."""
    html = httpx.get(server.url, timeout=10)
    assert html.headers["content-type"].startswith("text/html")
    assets = sorted((ROOT / "web" / "dist" / "assets").iterdir())
    for asset in (a for a in assets if a.suffix in {".js", ".css"}):
        answer = httpx.get(f"{server.url}/assets/{asset.name}", timeout=10)
        assert answer.status_code == 200
        expected = "text/javascript" if asset.suffix == ".js" else "text/css"
        assert answer.headers["content-type"].split(";")[0] == expected, (asset.name, answer.headers)
        assert not answer.headers.get("content-disposition", "").startswith("attachment"), answer.headers


def test_analysis_draws_daily_demo_bars(server: K2qServer, page: Page) -> None:
    page.goto(f"{server.url}/analysis?table={demo_table(server, 'day')}&tf=1d")
    assert wait_for_bars(page) > 100
    page.wait_for_timeout(150)  # one animation frame or two for the canvas to paint
    assert_chart_drawn(page)
    expect(page.locator(".chart-head [data-testid=synthetic-badge]")).to_be_visible()
    expect(page.locator("[data-testid=dataset-item][data-selected=true]")).to_have_count(1)
    page.screenshot(path="/tmp/analysis.png")


def test_zooming_in_loads_a_finer_slice(server: K2qServer, page: Page) -> None:
    page.goto(f"{server.url}/analysis?table={demo_table(server, 'minute')}&tf=1m")
    wait_for_bars(page)
    chart = page.locator(CHART)
    first_bucket = chart.get_attribute("data-bucket") or ""
    assert BUCKET_MINUTES[first_bucket] >= 60, first_bucket
    # The first view is written back to the URL (debounced) once the chart settles.
    page.wait_for_url(lambda url: "from=" in url)
    before = url_window(page)

    page.on("request", lambda r: print("REQ", r.method, r.url, r.post_data) if "chart-data" in r.url else None)
    print("BEFORE", page.url, chart.get_attribute("data-bars"))
    box = chart.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.4)
    for _ in range(25):
        page.mouse.wheel(0, -400)
        page.wait_for_timeout(20)
    page.wait_for_timeout(2000)
    print("AFTER", page.url, chart.get_attribute("data-bars"), chart.get_attribute("data-bucket"))
    page.screenshot(path="/tmp/zt.png")
    with page.expect_response(lambda r: CHART_DATA in r.url and r.request.method == "POST", timeout=1000) as answer:
        pass
    assert answer.value.ok
    wait_for_bars(page)
    page.wait_for_function(
        "([sel, bucket]) => document.querySelector(sel).dataset.bucket !== bucket", arg=[CHART, first_bucket]
    )
    finer = chart.get_attribute("data-bucket") or ""
    assert BUCKET_MINUTES[finer] < BUCKET_MINUTES[first_bucket], (first_bucket, finer)
    page.wait_for_url(lambda url: url_window_of(url) != before)
    after = url_window(page)
    assert after[1] - after[0] < (before[1] - before[0]) / 4, (before, after)
    assert_chart_drawn(page)


def url_window_of(url: str) -> tuple[int, int] | None:
    query = parse_qs(urlparse(url).query)
    return (int(query["from"][0]), int(query["to"][0])) if "from" in query and "to" in query else None


def test_landing_lists_datasets_and_ready_stores(server: K2qServer, page: Page) -> None:
    expected = tables(server)
    ready = httpx.get(f"{server.url}/ready", timeout=10).json()
    page.goto(server.url)
    expect(page.locator("[data-testid=dataset-card]")).to_have_count(len(expected))
    expect(page.locator("[data-testid=store-status]")).to_have_attribute("data-ready", "true")
    expect(page.locator("[data-store][data-ok=true]")).to_have_count(len(ready["stores"]))
    expect(page.locator("[data-store][data-ok=false]")).to_have_count(0)


def test_synthetic_fetch_completes_and_opens_analysis(server: K2qServer, page: Page) -> None:
    today = dt.date.today()
    page.goto(f"{server.url}/fetch")
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
    page.wait_for_timeout(150)
    assert_chart_drawn(page)
