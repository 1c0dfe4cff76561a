"""The built web app in headless Chromium against a real ``k2q up`` (embedded stores, demo data).

Needs ``web/dist`` (``cd web && npm run build``) and Debian's ``/usr/bin/chromium``; skipped
without either. One server and one browser serve the whole module. Every page needs a session:
tests sign in through the form, the one-time link ``k2q up`` printed, or (to get on with what they
test) ``POST /api/v1/auth/login`` from the browser context, which shares its cookies.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.process import K2qServer, running_up
from tests.web.chromium import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DIST_INDEX = ROOT / "web" / "dist" / "index.html"
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css"}
VIEWPORT = {"width": 1440, "height": 900}
CHART = "[data-testid=chart]"
CHART_DATA = "/api/v1/stocks/chart-data"
GRID_ROW = "[data-testid=data-grid] [data-testid=grid-row]"
NEW_YORK = ZoneInfo("America/New_York")
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

from playwright.sync_api import Browser, Page, Request, expect, sync_playwright  # noqa: E402


@dataclass(frozen=True)
class User:
    username: str
    password: str
    role: str


USERS = {
    role: User(f"web-{role}", f"correct horse {role} staple", role) for role in ("viewer", "analyst", "admin")
}
# Chromium logs every 4xx/5xx answer to fetch() as a console error; tests that expect one allow it.
FAILED_LOAD = re.compile(r"Failed to load resource: the server responded with a status of (\d{3})")
_allowed_statuses: dict[int, set[int]] = {}


def allow_statuses(page: Page, *statuses: int) -> None:
    """Let answers with these statuses (expected refusals) log console errors without failing the test."""
    _allowed_statuses.setdefault(id(page), set()).update(statuses)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[K2qServer]:
    """One ``k2q up`` with the demo datasets, serving the built app at ``/``."""
    with running_up(tmp_path_factory.mktemp("k2q-web")) as k2q:
        yield k2q


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
def users(app: str, server: K2qServer) -> dict[str, User]:
    """A viewer, an analyst and an admin, created over HTTP with the admin key."""
    for user in USERS.values():
        answer = httpx.post(
            f"{app}/api/v1/admin/users",
            json={"username": user.username, "password": user.password, "role": user.role},
            headers=server.headers(),
            timeout=10,
        )
        assert answer.status_code in (200, 201), answer.text
        assert answer.json()["role"] == user.role
    return USERS


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
    """A fresh, signed-out page; any uncaught script error or unexpected console error fails the test."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        yield tab
    finally:
        context.close()
    allowed = _allowed_statuses.pop(id(tab), set())
    unexpected = [e for e in errors if not ((m := FAILED_LOAD.search(e)) and int(m.group(1)) in allowed)]
    assert unexpected == []


def sign_in(page: Page, app: str, user: User) -> None:
    """Signs the page's browser context in over HTTP (the cookies land in the context)."""
    answer = page.context.request.post(
        f"{app}/api/v1/auth/login", data={"username": user.username, "password": user.password}
    )
    assert answer.status == 200, answer.text()
    assert answer.json()["user"] == {"username": user.username, "role": user.role}


def sign_in_with_form(page: Page, app: str, user: User, path: str) -> None:
    """Opens ``path`` signed out, lands on the login page, and signs in through the form."""
    page.goto(f"{app}{path}")
    page.wait_for_url("**/login?next=*")
    form = page.locator("[data-testid=login-form]")
    form.locator("[data-testid=login-username]").fill(user.username)
    form.locator("[data-testid=login-password]").fill(user.password)
    form.locator("[data-testid=login-submit]").click()
    page.wait_for_url(lambda url: urlparse(url).path == urlparse(path).path)
    expect(page.locator("[data-testid=nav-user]")).to_have_attribute("data-role", user.role)


def browser_fetch(page: Page, method: str, path: str, body: Any = None, csrf: bool = True) -> int:
    """The status of a request the page itself sends, as a script in it could (cookies, CSRF header)."""
    status: int = page.evaluate(
        """async ([method, path, body, csrf]) => {
             const token = document.cookie.split("; ").find((c) => c.startsWith("k2q_csrf="))?.slice(9);
             const headers = { "Content-Type": "application/json" };
             if (csrf && token) headers["X-CSRF-Token"] = decodeURIComponent(token);
             const init = { method, headers, credentials: "same-origin" };
             if (body !== null) init.body = JSON.stringify(body);
             return (await fetch(path, init)).status;
           }""",
        [method, path, body, csrf],
    )
    return status


def tables(app: str, server: K2qServer) -> list[dict[str, Any]]:
    answer: list[dict[str, Any]] = httpx.get(
        f"{app}/api/v1/stocks/tables", headers=server.headers(), timeout=10
    ).json()
    return answer


def demo_table(app: str, server: K2qServer, timespan: str) -> str:
    return next(
        t["table"] for t in tables(app, server) if t["symbol"] == "DEMO" and t["timespan"] == timespan
    )


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


def test_analysis_draws_daily_demo_bars(
    app: str, server: K2qServer, users: dict[str, User], page: Page
) -> None:
    sign_in(page, app, users["analyst"])
    page.goto(f"{app}/analysis?table={demo_table(app, server, 'day')}&tf=1d")
    assert wait_for_bars(page) > 100
    painted(page)
    assert_chart_drawn(page)
    expect(page.locator(".chart-head [data-testid=synthetic-badge]")).to_be_visible()
    expect(page.locator("[data-testid=dataset-item][data-selected=true]")).to_have_count(1)
    page.screenshot(path="/tmp/analysis.png")


def test_zooming_in_loads_a_finer_slice(
    app: str, server: K2qServer, users: dict[str, User], page: Page
) -> None:
    sign_in(page, app, users["analyst"])
    page.goto(f"{app}/analysis?table={demo_table(app, server, 'minute')}&tf=1m")
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


def minute_bar_ms(app: str, server: K2qServer, table: str, from_end: int) -> int:
    """The time (epoch ms) of the dataset's ``from_end``-th bar from the last."""
    total = next(t for t in tables(app, server) if t["table"] == table)["total_records"]
    answer = httpx.get(
        f"{app}/api/v1/stocks/data/{table}",
        params={"offset": total - from_end, "limit": 1},
        headers=server.headers(),
        timeout=10,
    ).json()
    return int(dt.datetime.fromisoformat(answer["rows"][0]["ts"]).timestamp() * 1000)


def chart_number(page: Page, attribute: str) -> int:
    return int(page.locator(CHART).get_attribute(attribute) or 0)


def et(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, NEW_YORK)


def drag_chart(page: Page, dx: float) -> None:
    """Drags the chart's main pane horizontally with real mouse input."""
    box = page.locator(CHART).bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.35
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(x + dx * step / 10, y)
        page.wait_for_timeout(15)
    page.mouse.up()


def test_panning_into_the_past_loads_older_bars_seamlessly(
    app: str, server: K2qServer, users: dict[str, User], page: Page
) -> None:
    sign_in(page, app, users["analyst"])
    table = demo_table(app, server, "minute")
    middle = minute_bar_ms(app, server, table, 3000)
    start, end = middle - 3_600_000, middle + 3_600_000  # two hours of minutes
    page.goto(f"{app}/analysis?table={table}&tf=1m&from={start}&to={end}")
    wait_for_bars(page)
    expect(page.locator(CHART)).to_have_attribute("data-bucket", "1m")
    bars_before = chart_number(page, "data-bars")
    first_before = chart_number(page, "data-first-ts")
    page.wait_for_url(lambda url: url_window(url) is not None)
    window_before = url_window(page.url)
    assert window_before is not None

    requests: list[dict[str, Any]] = []

    def record(request: Request) -> None:
        if CHART_DATA in request.url:
            requests.append(request.post_data_json)

    page.on("request", record)
    for _ in range(6):
        drag_chart(page, 500)  # drag right: the past comes into view
        page.wait_for_timeout(150)
    page.wait_for_function(
        """(sel) => { const c = document.querySelector(sel);
                      return c.dataset.loading === "false" && c.dataset.extending === ""; }""",
        arg=CHART,
    )
    assert chart_number(page, "data-bars") > bars_before
    assert chart_number(page, "data-first-ts") < first_before
    assert page.locator(CHART).get_attribute("data-bucket") == "1m"
    # Older slices were asked for at the same bucket, each ending where the loaded bars began.
    extensions = [r for r in requests if r.get("timeframe") == "1m" and r["to"] < first_before]
    assert extensions, requests
    assert all(r["session"] == "extended" for r in requests)
    page.wait_for_url(lambda url: (url_window(url) or window_before)[0] < window_before[0])
    after = url_window(page.url)
    assert after is not None
    # The grid lists the bars in view, oldest first, in New York time.
    rows = page.locator(GRID_ROW)
    expect(rows.first).to_be_visible()
    stamps = [int(t) for t in rows.evaluate_all("rs => rs.map((r) => r.dataset.ts)")]
    assert stamps == sorted(stamps)
    assert stamps[0] >= after[0] - 60_000, (stamps[:3], after)
    assert rows.first.inner_text().startswith(et(stamps[0]).strftime("%Y-%m-%d %H:%M"))
    painted(page)
    assert_chart_drawn(page)


def test_grid_follows_the_crosshair_and_centres_the_chart_on_a_clicked_row(
    app: str, server: K2qServer, users: dict[str, User], page: Page
) -> None:
    sign_in(page, app, users["viewer"])
    table = demo_table(app, server, "minute")
    middle = minute_bar_ms(app, server, table, 5000)
    page.goto(f"{app}/analysis?table={table}&tf=1m&from={middle - 5_400_000}&to={middle + 5_400_000}")
    wait_for_bars(page)
    grid = page.locator("[data-testid=data-grid]")
    expect(grid).to_be_visible()
    assert int(grid.get_attribute("data-rows") or 0) > 100  # three hours of minutes
    expect(page.locator(f"{GRID_ROW}[data-active=true]")).to_have_count(0)

    box = page.locator(CHART).bounding_box()
    assert box is not None
    for fraction in (0.3, 0.7):  # the second bar is far down the list: it is scrolled into view
        page.mouse.move(box["x"] + box["width"] * fraction, box["y"] + box["height"] * 0.3)
        expect(page.locator("[data-testid=crosshair-strip]")).to_have_attribute("data-hovered", "true")
        active = page.locator(f"{GRID_ROW}[data-active=true]")
        expect(active).to_have_count(1)
        label = page.locator("[data-testid=crosshair-time]").inner_text()
        assert active.inner_text().startswith(label)
        assert et(int(active.get_attribute("data-ts") or 0)).strftime("%Y-%m-%d %H:%M") == label
        viewport, shown = grid.locator(".grid-body").bounding_box(), active.bounding_box()
        assert viewport is not None
        assert shown is not None
        assert viewport["y"] <= shown["y"]
        assert shown["y"] + shown["height"] <= viewport["y"] + viewport["height"] + 1

    # Clicking a row centres the chart on its bar.
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] + 200)
    row = page.locator(GRID_ROW).nth(3)
    ts = int(row.get_attribute("data-ts") or 0)
    before = url_window(page.url)
    row.click()
    page.wait_for_url(lambda url: url_window(url) not in (None, before))
    after = url_window(page.url)
    assert after is not None
    assert abs((after[0] + after[1]) / 2 - ts) < 0.1 * (after[1] - after[0]), (ts, after)


def test_regular_hours_drop_extended_bars_and_live_in_the_url(
    app: str, server: K2qServer, users: dict[str, User], page: Page
) -> None:
    sign_in(page, app, users["analyst"])
    table = demo_table(app, server, "minute")
    day = et(minute_bar_ms(app, server, table, 4000)).date()
    open_ = dt.datetime.combine(day, dt.time(4, 0), NEW_YORK)
    start = int(open_.timestamp() * 1000)
    end = int(dt.datetime.combine(day, dt.time(20, 0), NEW_YORK).timestamp() * 1000)
    page.goto(f"{app}/analysis?table={table}&tf=1m&from={start}&to={end}")
    wait_for_bars(page)
    expect(page.locator("[data-testid=adjusted-badge]")).to_have_text("split-adjusted")
    expect(page.locator("[data-testid=session-toggle]")).to_have_attribute("data-value", "extended")

    def grid_times() -> list[dt.time]:
        stamps = page.locator(GRID_ROW).evaluate_all("rs => rs.map((r) => Number(r.dataset.ts))")
        assert stamps
        return [et(ms).time() for ms in stamps]

    assert min(grid_times()) < dt.time(9, 30)  # the list starts at the top of the day: pre-market

    with page.expect_response(
        lambda r: CHART_DATA in r.url and (r.request.post_data_json or {}).get("session") == "regular"
    ) as answer:
        page.locator("[data-testid=session-toggle] [data-session=regular]").click()
    assert answer.value.ok
    page.wait_for_url(lambda url: parse_qs(urlparse(url).query).get("session") == ["regular"])
    page.wait_for_function("(sel) => document.querySelector(sel).dataset.loading === 'false'", arg=CHART)
    wait_for_bars(page)
    times = grid_times()
    assert all(dt.time(9, 30) <= t < dt.time(16, 0) for t in times), times
    grid = page.locator("[data-testid=data-grid] .grid-body")
    grid.evaluate("(el) => { el.scrollTop = el.scrollHeight; }")
    page.wait_for_timeout(100)
    times = grid_times()
    assert all(dt.time(9, 30) <= t < dt.time(16, 0) for t in times), times

    # Reloading the shared link keeps the session.
    page.reload()
    wait_for_bars(page)
    expect(page.locator("[data-testid=session-toggle]")).to_have_attribute("data-value", "regular")
    assert all(dt.time(9, 30) <= t < dt.time(16, 0) for t in grid_times())


def test_auto_timeframe_and_download_of_the_window_in_view(
    app: str, server: K2qServer, users: dict[str, User], page: Page
) -> None:
    sign_in(page, app, users["analyst"])
    table = demo_table(app, server, "minute")
    page.goto(f"{app}/analysis?table={table}&tf=1m")
    wait_for_bars(page)
    with page.expect_request(lambda r: CHART_DATA in r.url) as sent:
        page.locator("[data-testid=timeframe][data-tf=auto]").click()
    assert (sent.value.post_data_json or {}).get("timeframe") is None
    page.wait_for_url(lambda url: parse_qs(urlparse(url).query).get("tf") == ["auto"])
    wait_for_bars(page)
    picked = page.locator("[data-testid=picked-timeframe]")
    expect(picked).to_have_attribute("data-timeframe", re.compile(r"^(1m|5m|15m|30m|1h|4h|1d|1w|1M)$"))

    page.wait_for_url(lambda url: url_window(url) is not None)
    window = url_window(page.url)
    assert window is not None
    page.locator("[data-testid=export-format]").select_option("csv")
    link = page.locator("[data-testid=export-download]")
    href = link.get_attribute("href") or ""
    query = parse_qs(urlparse(href).query)
    assert urlparse(href).path == f"/api/v1/stocks/data/{table}"
    assert query["format"] == ["csv"]
    assert abs(int(query["from"][0]) - window[0]) <= 1
    assert abs(int(query["to"][0]) - window[1]) <= 1
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith(".csv")
    path = download.value.path()
    header = Path(path).read_text().splitlines()[0]
    assert header.replace('"', "").startswith("ts,open,high,low,close,volume"), header


# Pixels near each of the given colours, over every canvas of the chart (each pane draws its own).
CANVAS_COLORS_JS = """
(chart, colors) => {
  const counts = colors.map(() => 0);
  for (const canvas of chart.querySelectorAll("canvas")) {
    if (canvas.width === 0 || canvas.height === 0) continue;
    const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    for (let i = 0; i < data.length; i += 4) {
      colors.forEach(([r, g, b], k) => {
        const distance = Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b);
        if (distance <= 60) counts[k] += 1;
      });
    }
  }
  return counts;
}
"""
# The first two indicator colours (web/src/chart/indicators.ts INDICATOR_COLORS).
FIRST_LINE_RGB, SECOND_LINE_RGB = (0x4F, 0x9C, 0xF9), (0xC0, 0x84, 0xFC)


def test_indicators_in_the_url_are_drawn_and_read_at_the_crosshair(
    app: str, server: K2qServer, users: dict[str, User], page: Page
) -> None:
    sign_in(page, app, users["analyst"])
    table = demo_table(app, server, "day")
    page.goto(f"{app}/analysis?table={table}&tf=1d&ind=sma(20)&ind=rsi")
    assert wait_for_bars(page) > 100
    chart = page.locator(CHART)
    expect(chart).to_have_attribute("data-indicators", "ind:sma(20):real ind:rsi:real")
    chips = page.locator("[data-testid=indicator-chip]")
    expect(chips).to_have_count(2)
    assert chips.evaluate_all("cs => cs.map((c) => c.dataset.spec)") == ["sma(20)", "rsi"]
    # The moving average is drawn with the candles, RSI in a pane of its own.
    painted(page)
    sma_pixels, rsi_pixels = chart.evaluate(CANVAS_COLORS_JS, [FIRST_LINE_RGB, SECOND_LINE_RGB])
    # One-pixel lines, anti-aliased: a few hundred pixels each keep their colour; a blank pane has none.
    assert sma_pixels > 100, sma_pixels
    assert rsi_pixels > 100, rsi_pixels
    assert_chart_drawn(page)
    grid_head = page.locator("[data-testid=data-grid] .grid-head")
    expect(grid_head).to_contain_text("sma(20)")
    expect(grid_head).to_contain_text("rsi")

    # Hovering a bar shows its indicator values next to its OHLCV.
    box = chart.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.3)
    strip = page.locator("[data-testid=crosshair-strip]")
    expect(strip).to_have_attribute("data-hovered", "true")
    expect(strip.locator(".strip-indicator[data-spec=rsi] b")).to_have_text("rsi")
    rsi = strip.locator("[data-testid=crosshair-indicator][data-key='ind:rsi:real']")
    expect(rsi).to_have_text(re.compile(r"^\d+\.\d{2}$"))
    assert 0 <= float(rsi.inner_text()) <= 100, rsi.inner_text()
    sma = strip.locator("[data-testid=crosshair-indicator][data-key='ind:sma(20):real']")
    expect(sma).to_have_text(re.compile(r"^[\d,]+\.\d+$"))
    # The same values in the grid's row for the hovered bar.
    active = page.locator(f"{GRID_ROW}[data-active=true]")
    expect(active.locator("[data-key='ind:rsi:real']")).to_have_text(rsi.inner_text())

    # A spec the server refuses: its reason is shown, it is dropped, and the chart keeps the others.
    allow_statuses(page, 422)
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] + 200)
    page.locator("[data-testid=indicator-input]").fill("nosuch(3)")
    page.locator("[data-testid=indicator-input]").press("Enter")
    expect(page.locator("[data-testid=indicator-problem]")).to_contain_text("not a TA-Lib function")
    page.wait_for_url(lambda url: parse_qs(urlparse(url).query).get("ind") == ["sma(20)", "rsi"])
    expect(chips).to_have_count(2)
    page.wait_for_function("(sel) => document.querySelector(sel).dataset.loading === 'false'", arg=CHART)
    expect(chart).to_have_attribute("data-indicators", "ind:sma(20):real ind:rsi:real")
    expect(page.locator("[data-testid=chart-error]")).to_have_count(0)

    # Removing one takes its line (and pane) away and updates the shared link.
    page.locator("[aria-label='Remove rsi']").click()
    page.wait_for_url(lambda url: parse_qs(urlparse(url).query).get("ind") == ["sma(20)"])
    expect(chart).to_have_attribute("data-indicators", "ind:sma(20):real")
    painted(page)
    sma_pixels, rsi_pixels = chart.evaluate(CANVAS_COLORS_JS, [FIRST_LINE_RGB, SECOND_LINE_RGB])
    assert sma_pixels > 100, sma_pixels
    assert rsi_pixels < 10, rsi_pixels


def test_landing_lists_datasets_and_ready_stores(
    app: str, server: K2qServer, users: dict[str, User], page: Page
) -> None:
    expected = tables(app, server)
    # Anonymous, /ready says only whether all is well; signed in, it names the stores.
    assert set(httpx.get(f"{app}/ready", timeout=10).json()) == {"ok"}
    ready = httpx.get(f"{app}/ready", headers=server.headers(), timeout=10).json()
    sign_in(page, app, users["analyst"])
    page.goto(app)
    expect(page.locator("[data-testid=dataset-card]")).to_have_count(len(expected))
    expect(page.locator("[data-testid=store-status]")).to_have_attribute("data-ready", "true")
    expect(page.locator("[data-store][data-ok=true]")).to_have_count(len(ready["stores"]))
    expect(page.locator("[data-store][data-ok=false]")).to_have_count(0)


def test_synthetic_fetch_completes_and_opens_analysis(app: str, users: dict[str, User], page: Page) -> None:
    today = dt.date.today()
    sign_in(page, app, users["analyst"])
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


def test_anonymous_lands_on_login_and_the_one_time_link_opens_the_chart(
    app: str, server: K2qServer, page: Page
) -> None:
    page.goto(f"{app}/analysis")
    page.wait_for_url("**/login?next=%2Fanalysis")
    expect(page.locator("[data-testid=login-form]")).to_be_visible()
    expect(page.locator("[data-testid=nav-user]")).to_have_count(0)
    expect(page.locator(CHART)).to_have_count(0)

    assert "/login?token=" in server.login_url, server.login_url
    page.goto(server.login_url.replace(server.url, app))
    page.wait_for_url("**/analysis*")
    assert "token" not in page.url
    expect(page.locator("[data-testid=nav-user]")).to_have_attribute("data-role", "admin")
    assert wait_for_bars(page) > 0
    painted(page)
    assert_chart_drawn(page)


def test_viewer_sees_charts_but_no_write_actions(
    app: str, server: K2qServer, users: dict[str, User], page: Page
) -> None:
    table = demo_table(app, server, "day")
    sign_in_with_form(page, app, users["viewer"], f"/analysis?table={table}&tf=1d")
    assert wait_for_bars(page) > 0
    painted(page)
    assert_chart_drawn(page)
    expect(page.locator("[data-testid=nav-user]")).to_contain_text(users["viewer"].username)
    expect(page.locator("[data-testid=dataset-details]")).to_be_visible()
    expect(page.locator("a[href='/fetch']")).to_have_count(0)
    expect(page.locator("[data-testid=nav-fetch]")).to_have_count(0)
    expect(page.locator("[data-testid=nav-admin]")).to_have_count(0)
    expect(page.locator("[data-testid=delete-dataset]")).to_have_count(0)

    # What the UI hides, the server refuses: for the role, even with a valid CSRF token.
    allow_statuses(page, 403)
    fetch = {
        "symbols": ["NOPE"],
        "timespan": "day",
        "from": "2024-01-02",
        "to": "2024-01-05",
        "source": "synthetic",
    }
    assert browser_fetch(page, "POST", "/api/v1/stocks/fetch", fetch) == 403
    assert browser_fetch(page, "DELETE", f"/api/v1/stocks/table/{table}") == 403
    assert table in {t["table"] for t in tables(app, server)}

    page.goto(f"{app}/fetch")
    expect(page.locator("[data-testid=forbidden]")).to_be_visible()
    expect(page.locator("[data-testid=fetch-form]")).to_have_count(0)


def test_wrong_password_is_refused_in_words(app: str, users: dict[str, User], page: Page) -> None:
    page.goto(f"{app}/login")
    allow_statuses(page, 401)
    page.locator("[data-testid=login-username]").fill(users["viewer"].username)
    page.locator("[data-testid=login-password]").fill("not the password")
    page.locator("[data-testid=login-submit]").click()
    expect(page.locator("[data-testid=login-error]")).to_have_text("Wrong username or password.")
    expect(page.locator("[data-testid=nav-user]")).to_have_count(0)


def test_writes_need_the_csrf_header(app: str, users: dict[str, User], page: Page) -> None:
    sign_in(page, app, users["analyst"])
    page.goto(f"{app}/account")
    expect(page.locator("[data-testid=create-key-form]")).to_be_visible()
    allow_statuses(page, 403)
    body = {"name": "no csrf"}
    assert browser_fetch(page, "POST", "/api/v1/auth/api-keys", body, csrf=False) == 403
    assert browser_fetch(page, "POST", "/api/v1/auth/api-keys", body, csrf=True) in (200, 201)


def test_logout_returns_to_login_and_closes_the_session(
    app: str, server: K2qServer, users: dict[str, User], page: Page
) -> None:
    sign_in(page, app, users["analyst"])
    page.goto(f"{app}/analysis?table={demo_table(app, server, 'day')}&tf=1d")
    wait_for_bars(page)
    refresh_before = next(c for c in page.context.cookies() if c["name"] == "k2q_refresh")

    page.locator("[data-testid=logout]").click()
    page.wait_for_url(lambda url: urlparse(url).path == "/login")
    expect(page.locator("[data-testid=login-form]")).to_be_visible()
    expect(page.locator("[data-testid=nav-user]")).to_have_count(0)
    assert {c["name"] for c in page.context.cookies()} & {"k2q_access", "k2q_refresh", "k2q_csrf"} == set()

    page.goto(f"{app}/analysis")
    page.wait_for_url("**/login?next=%2Fanalysis")
    expect(page.locator(CHART)).to_have_count(0)
    allow_statuses(page, 401)
    assert browser_fetch(page, "GET", "/api/v1/stocks/tables") == 401
    # The old refresh token is dead server-side too, not just forgotten by the browser.
    stale = httpx.post(
        f"{app}/api/v1/auth/refresh", cookies={"k2q_refresh": refresh_before["value"]}, timeout=10
    )
    assert stale.status_code in (401, 403), stale.text


def test_admin_creates_an_api_key_that_works_once_shown(app: str, users: dict[str, User], page: Page) -> None:
    sign_in(page, app, users["admin"])
    page.goto(f"{app}/account")
    page.locator("[data-testid=key-name]").fill("browser test key")
    page.locator("[data-testid=create-key]").click()
    value = page.locator("[data-testid=new-key-value]")
    expect(value).to_be_visible()
    key = value.inner_text().strip()
    expect(page.locator("[data-testid=new-key]")).to_contain_text("will not be shown again")

    me = httpx.get(f"{app}/api/v1/auth/me", headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert me.status_code == 200, me.text
    assert me.json() == {"username": users["admin"].username, "role": "admin", "auth": "api_key"}

    # Listed (by prefix, never the key), then revoked from the same page: the key stops working.
    row = page.locator("[data-testid=my-keys] [data-testid=key-row][data-state=active]").filter(
        has_text="browser test key"
    )
    expect(row).to_have_count(1)
    prefix = row.get_attribute("data-prefix") or ""
    assert prefix, row.inner_html()
    page.locator("[data-testid=dismiss-key]").click()
    expect(page.locator("[data-testid=new-key-value]")).to_have_count(0)
    row.locator("[data-testid=revoke-key]").click()
    row.locator("[data-testid=confirm-revoke]").click()
    expect(page.locator(f"[data-testid=key-row][data-prefix='{prefix}']")).to_have_attribute(
        "data-state", "revoked"
    )
    revoked = httpx.get(f"{app}/api/v1/auth/me", headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert revoked.status_code == 401


def test_admin_page_lists_users_keys_and_the_audit_log(app: str, users: dict[str, User], page: Page) -> None:
    sign_in(page, app, users["admin"])
    page.goto(f"{app}/")
    page.locator("[data-testid=nav-admin]").click()
    page.wait_for_url("**/admin")
    for user in users.values():
        row = page.locator(
            f"[data-testid=admin-users] [data-testid=user-row][data-username='{user.username}']"
        )
        expect(row).to_have_attribute("data-role", user.role)
    expect(page.locator("[data-testid=admin-keys]")).to_be_visible()

    # Filter the log to sign-ins: newest first, each one a login.
    log = page.locator("[data-testid=audit-log]")
    expect(log).to_be_visible()
    filters = page.locator("[data-testid=audit-filters]")
    filters.locator("input[name=action]").fill("auth.login")
    filters.locator("[data-testid=audit-apply]").click()
    page.wait_for_url("**/admin?action=auth.login")
    # The server matches actions by prefix (auth.login, auth.login_link).
    page.wait_for_function(
        """() => { const rows = [...document.querySelectorAll("[data-testid=audit-row]")];
                   return rows.length > 0
                     && rows.every((r) => r.dataset.action.startsWith("auth.login")); }"""
    )
    rows = log.locator("[data-testid=audit-row]")
    times = rows.evaluate_all("rs => rs.map((r) => Date.parse(r.dataset.at))")
    assert times == sorted(times, reverse=True)
    assert users["admin"].username in rows.evaluate_all("rs => rs.map((r) => r.dataset.actor)")

    # An admin changes a user's role; the table shows the answer.
    viewer = page.locator(f"[data-testid=user-row][data-username='{users['viewer'].username}']")
    viewer.locator("[data-testid=user-role]").select_option("analyst")
    expect(viewer).to_have_attribute("data-role", "analyst")
    viewer.locator("[data-testid=user-role]").select_option("viewer")
    expect(viewer).to_have_attribute("data-role", "viewer")
