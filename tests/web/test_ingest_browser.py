"""Getting bars in, in headless Chromium: the Fetch and Import pages, and gaps shaded on the chart.

One ``k2q up`` (embedded stores, no demo data) serves the module. Its Polygon source points, through
``POLYGON_BASE_URL`` and ``POLYGON_API_KEY``, at a loopback Polygon running in this process
(``tests/loopback/polygon.py``): fetches travel over real HTTP to a server whose bars and failures
the tests script, down to pages held until a test lets them go. Each test uses tickers of its own.
The browser, the users and the ``page`` fixture (which fails a test on any unexpected console error)
are ``test_browser.py``'s; only its demo ``server`` is replaced.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from playwright.sync_api import Locator, Page, expect

from pipelines.exchange_calendar import is_trading_day
from pipelines.ingest.sources.polygon_rest import plan_windows
from schemas.bars import SeriesKey, SeriesRequest
from tests.loopback.polygon import Fault, PolygonLoopback
from tests.pipelines.ingest.test_polygon_rest import bars_at, day_bars, ny_ms, weekdays
from tests.process import K2qServer, running_up
from tests.web import test_browser as web
from tests.web.test_browser import CHART, User, allow_statuses, painted, sign_in, wait_for_bars

pytestmark = pytest.mark.browser

# test_browser.py's fixtures, bound here so that pytest finds them; they use this module's `server`.
app, users, browser, page = web.app, web.users, web.browser, web.page

POLYGON_KEY = "ingest-browser-key"
JOB = "[data-testid=job]"


@pytest.fixture(scope="module")
def polygon() -> Iterator[PolygonLoopback]:
    with PolygonLoopback(api_key=POLYGON_KEY) as loopback:
        yield loopback


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, polygon: PolygonLoopback) -> Iterator[K2qServer]:
    """One ``k2q up`` whose Polygon is the loopback (a key is set, so no demo data is loaded)."""
    with running_up(
        tmp_path_factory.mktemp("k2q-ingest-web"),
        POLYGON_API_KEY=POLYGON_KEY,
        POLYGON_BASE_URL=polygon.base_url,
        K2Q_SEED_DEMO="0",
    ) as k2q:
        yield k2q


@pytest.fixture
def loopback(polygon: PolygonLoopback) -> Iterator[PolygonLoopback]:
    """The module's loopback Polygon; the faults a test scripts, and a key it swaps, end with the test."""
    yield polygon
    polygon.clear_faults()
    polygon.api_key = POLYGON_KEY


def datasets(server: K2qServer) -> dict[str, dict[str, Any]]:
    """``GET /api/v1/stocks/tables``, by symbol."""
    answer = httpx.get(f"{server.url}/api/v1/stocks/tables", headers=server.headers(), timeout=10)
    assert answer.status_code == 200, answer.text
    return {t["symbol"]: t for t in answer.json()}


def job_status(server: K2qServer, job_id: str) -> dict[str, Any]:
    """``GET /api/v1/jobs/{job_id}`` (as the admin, who may read anyone's job)."""
    answer = httpx.get(f"{server.url}/api/v1/jobs/{job_id}", headers=server.headers(), timeout=10)
    assert answer.status_code == 200, answer.text
    status: dict[str, Any] = answer.json()
    return status


def start_fetch(page: Page, symbols: str, timespan: str, start: dt.date, end: dt.date) -> None:
    """Fills in the Fetch page's form (Polygon is the source it starts with) and submits it."""
    form = page.locator("[data-testid=fetch-form]")
    form.locator("input[name=symbols]").fill(symbols)
    form.locator("select[name=timespan]").select_option(timespan)
    form.locator("input[name=from]").fill(start.isoformat())
    form.locator("input[name=to]").fill(end.isoformat())
    expect(form.locator("input[name=source][value=polygon]")).to_be_checked()
    page.locator("[data-testid=fetch-submit]").click()


def symbol_row(page: Page, symbol: str) -> Locator:
    return page.locator(f"{JOB} [data-testid=symbol-progress][data-symbol='{symbol}']")


def windows_cell(page: Page, symbol: str) -> Locator:
    return symbol_row(page, symbol).locator("td").nth(2)


def progress(page: Page, symbol: str) -> float:
    """The fraction a symbol's progress bar shows."""
    value = symbol_row(page, symbol).get_by_role("progressbar").get_attribute("aria-valuenow")
    return float(value or "nan")


def first_hours(start: dt.date, end: dt.date) -> dict[str, np.ndarray[Any, Any]]:
    """Minute bars of the first regular-session hour of every weekday: real windows, small pages."""
    opens = np.array([ny_ms(day, 9, 30) for day in weekdays(start, end)], dtype=np.int64)
    return bars_at((opens[:, None] + np.arange(60, dtype=np.int64)[None, :] * 60_000).ravel())


def test_fetch_shows_each_symbols_progress_and_a_cancel_keeps_the_stored_bars(
    app: str, server: K2qServer, users: dict[str, User], page: Page, loopback: PolygonLoopback
) -> None:
    start, end = dt.date(2024, 1, 2), dt.date(2024, 4, 30)
    symbols = ["SLOWA", "SLOWB", "SLOWC"]
    bars = first_hours(start, end)
    for symbol in symbols:
        loopback.add_bars(symbol, 1, "minute", bars)
    windows = plan_windows(
        SeriesRequest(key=SeriesKey(symbol="SLOWA", multiplier=1, timespan="minute"), start=start, end=end)
    )
    total = len(windows)
    assert total >= 2
    first_window_bars = int(np.sum(bars["t"] < ny_ms(windows[1][0])))
    # Each page waits for the test: SLOWA's first window until the page has shown every bar empty,
    # every other one until after the job is cancelled (they are still in flight then).
    first, rest = threading.Event(), threading.Event()
    loopback.inject(Fault.held(first), times=None, path_contains=f"/SLOWA/range/1/minute/{windows[0][0]}/")
    loopback.inject(Fault.held(rest), times=None, path_contains="/SLOW")
    try:
        sign_in(page, app, users["analyst"])
        page.goto(f"{app}/fetch")
        start_fetch(page, "slowa, slowb slowc", "minute", start, end)

        job = page.locator(JOB)
        expect(job).to_have_attribute("data-state", "running")
        expect(job.locator("[data-testid=job-state]")).to_have_text("Running")
        expect(job.locator("[data-testid=symbol-progress]")).to_have_count(len(symbols))
        for symbol in symbols:
            expect(symbol_row(page, symbol).get_by_role("progressbar")).to_be_visible()
            expect(windows_cell(page, symbol)).to_have_text(f"0/{total}")
            assert progress(page, symbol) == 0

        first.set()  # SLOWA's first window arrives: its bar moves, the others stay empty
        expect(windows_cell(page, "SLOWA")).to_have_text(f"1/{total}")
        assert progress(page, "SLOWA") == pytest.approx(1 / total)
        fill = symbol_row(page, "SLOWA").locator(".bar-fill")
        assert fill.evaluate("(e) => e.style.width") == f"{100 / total:.1f}%"
        assert [progress(page, s) for s in symbols[1:]] == [0, 0]
        expect(job).to_have_attribute("data-state", "running")

        page.locator("[data-testid=job-cancel]").click()
        expect(job).to_have_attribute("data-state", "cancelled")
        expect(job.locator("[data-testid=job-state]")).to_have_text("Cancelled")
        expect(page.locator("[data-testid=job-cancel]")).to_have_count(0)
        # Once the worker has stopped, the page says what it kept, and links the dataset it stored.
        expect(job).to_contain_text(f"cancelled; stored {first_window_bars:,} bars for 1 of 3 symbols (kept)")
        for symbol in symbols[1:]:
            expect(symbol_row(page, symbol)).to_contain_text("cancelled before it finished")
        expect(symbol_row(page, "SLOWA").locator("td").nth(3)).to_have_text(f"{first_window_bars:,}")
        expect(symbol_row(page, "SLOWA").locator("[data-testid=job-dataset-link]")).to_have_text(
            "Open slowa_1minute_2024-01-02_2024-04-30 →"
        )
        assert progress(page, "SLOWA") == pytest.approx(1 / total)
        assert job.locator("[data-testid=symbol-error]").count() == 0

        job_id = job.get_attribute("data-job-id") or ""
        assert page.url.endswith(f"/fetch?job={job_id}")
        status = job_status(server, job_id)
        assert status["state"] == "cancelled", status
        by_symbol = {s["symbol"]: s for s in status["symbols"]}
        assert (by_symbol["SLOWA"]["windows_done"], by_symbol["SLOWA"]["bars"]) == (1, first_window_bars)
        assert [by_symbol[s]["windows_done"] for s in symbols[1:]] == [0, 0]
        stored = datasets(server)
        assert stored["SLOWA"]["total_records"] == first_window_bars
        assert not {"SLOWB", "SLOWC"} & stored.keys()
    finally:
        first.set()
        rest.set()


def test_fetch_errors_are_put_in_words(
    app: str, server: K2qServer, users: dict[str, User], page: Page, loopback: PolygonLoopback
) -> None:
    start, end = dt.date(2024, 1, 2), dt.date(2024, 1, 31)
    loopback.add_bars("REAL", 1, "day", day_bars(start, end))
    real = len(weekdays(start, end))  # the loopback's day bars: one every weekday
    sign_in(page, app, users["analyst"])
    page.goto(f"{app}/fetch")

    # Polygon no longer knows the server's key: the job fails in Polygon's own words, without the key.
    loopback.api_key = "a-key-polygon-issued-later"
    start_fetch(page, "REAL", "day", start, end)
    job = page.locator(JOB)
    expect(job).to_have_attribute("data-state", "failed")
    expect(job.locator("[data-testid=job-state]")).to_have_text("Failed")
    error = job.locator("[data-testid=job-error]")
    expect(error).to_contain_text("Polygon refused the API key. Check POLYGON_API_KEY on the server.")
    expect(error).to_contain_text("polygon answered HTTP 401: Unknown API Key")
    expect(job).to_contain_text("bars stored before the failure are kept")
    assert POLYGON_KEY not in page.locator("body").inner_text()
    assert "REAL" not in datasets(server)
    failed_job = job.get_attribute("data-job-id") or ""

    # The key works again; a ticker Polygon has no bars for becomes an empty dataset, said so.
    loopback.api_key = POLYGON_KEY
    start_fetch(page, "REAL NOSUCH", "day", start, end)
    expect(job).not_to_have_attribute("data-job-id", failed_job)
    expect(job).to_have_attribute("data-state", "complete")
    expect(job).to_contain_text(f"stored {real} bars for 2 of 2 symbols; no bars in range for NOSUCH")
    expect(job.locator("[data-testid=symbol-error]")).to_have_count(0)
    expect(job.locator("[data-testid=job-error]")).to_have_count(0)
    expect(windows_cell(page, "NOSUCH")).to_have_text("1/1")
    expect(symbol_row(page, "NOSUCH").locator("td").nth(3)).to_have_text("0")
    stored = datasets(server)
    assert (stored["REAL"]["total_records"], stored["NOSUCH"]["total_records"]) == (real, 0)

    # The empty dataset opens in Analysis as an empty chart, its quality saying what is missing.
    symbol_row(page, "NOSUCH").locator("[data-testid=job-dataset-link]").click()
    page.wait_for_url(f"**/analysis?table={stored['NOSUCH']['table']}*")
    chart = page.locator(CHART)
    expect(chart).to_have_attribute("data-bucket", "1d")  # the server has answered
    expect(chart).to_have_attribute("data-loading", "false")
    assert chart.get_attribute("data-bars") == "0"
    expect(page.locator("[data-testid=data-grid]")).to_contain_text("No bars in view.")
    expect(page.locator("[data-testid=gap-badge]")).to_have_text("1 gap")
    expect(page.locator("[data-testid=chart-error]")).to_have_count(0)
    expect(page.locator("[data-testid=datasets-problem]")).to_have_count(0)


def trading_days(start: dt.date, end: dt.date) -> list[dt.date]:
    days = (start + dt.timedelta(days=n) for n in range((end - start).days + 1))
    return [day for day in days if is_trading_day(day)]


def daily_csv(days: list[dt.date], seed: int = 0) -> bytes:
    """A CSV of one day bar per date, as a user might export it from elsewhere."""
    bars = bars_at(np.arange(len(days)), seed=seed)
    close = bars["c"]
    open_ = np.concatenate([[close[0] - 0.2], close[:-1]])
    rows = ["Date,Open,High,Low,Close,Volume"]
    for day, o, c, v in zip(days, open_, close, bars["v"], strict=True):
        rows.append(f"{day},{o:.2f},{max(o, c) + 0.3:.2f},{min(o, c) - 0.3:.2f},{c:.2f},{v:.0f}")
    return ("\n".join(rows) + "\n").encode()


# Where the gap bands' amber top edge (GAP_EDGE of web/src/chart/GapBandsPrimitive.ts, over the band's
# fill on the chart's background) is painted in the top rows of the chart's main pane: the runs of
# columns holding it, in CSS pixels from the chart's left edge.
GAP_EDGE_RUNS_JS = """
(chart) => {
  const canvases = [...chart.querySelectorAll("canvas")];
  const main = canvases.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
  const box = main.getBoundingClientRect();
  const ratio = main.width / box.width;
  const rows = Math.max(1, Math.round(3 * ratio));
  const { data } = main.getContext("2d").getImageData(0, 0, main.width, rows);
  const amber = [212, 160, 39];
  const runs = [];
  let open = null;
  for (let x = 0; x <= main.width; x += 1) {
    let hit = false;
    for (let y = 0; y < rows && x < main.width; y += 1) {
      const i = (y * main.width + x) * 4;
      const distance = amber.reduce((sum, value, k) => sum + Math.abs(data[i + k] - value), 0);
      if (distance <= 40) hit = true;
    }
    if (hit && open === null) open = x;
    if (!hit && open !== null) {
      runs.push([open, x]);
      open = null;
    }
  }
  const left = box.left - chart.getBoundingClientRect().left;
  return runs.map(([a, b]) => [left + a / ratio, left + b / ratio]);
}
"""


def test_analysis_shades_the_gaps_of_an_imported_dataset(
    app: str, server: K2qServer, users: dict[str, User], page: Page
) -> None:
    days = trading_days(dt.date(2024, 1, 2), dt.date(2024, 4, 30))
    gaps = [[dt.date(2024, 2, 12), dt.date(2024, 2, 13), dt.date(2024, 2, 14)], [dt.date(2024, 3, 20)]]
    kept = [day for day in days if not any(day in gap for gap in gaps)]
    answer = httpx.post(
        f"{app}/api/v1/stocks/import",
        params={"symbol": "GAPS", "timespan": "day"},
        content=daily_csv(kept),
        headers={**server.headers(), "Content-Type": "text/csv"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    table = answer.json()["dataset"]["table"]

    sign_in(page, app, users["viewer"])
    page.goto(f"{app}/analysis?table={table}&tf=1d")
    assert wait_for_bars(page) == len(kept)
    badge = page.locator("[data-testid=gap-badge]")
    expect(badge).to_have_text("2 gaps")
    missing = sum(len(gap) for gap in gaps)
    expect(badge).to_have_attribute(
        "title", re.compile(rf"^Shaded: {missing} missing of {len(days)} expected bars \(coverage ")
    )
    painted(page)
    chart = page.locator(CHART)
    runs = chart.evaluate(GAP_EDGE_RUNS_JS)
    assert len(runs) == 2, runs  # one band per gap, and nothing amber anywhere else

    # Each band stands between the bars either side of its gap: pointing at it shows one of them.
    box = chart.bounding_box()
    assert box is not None
    strip = page.locator("[data-testid=crosshair-strip]")
    for (left, right), gap in zip(runs, gaps, strict=True):
        assert 2 <= right - left <= 20, runs  # a narrow band: adjacent bars, no room between them
        page.mouse.move(box["x"] + (left + right) / 2, box["y"] + box["height"] * 0.4)
        expect(strip).to_have_attribute("data-hovered", "true")
        before = max(day for day in kept if day < gap[0])
        after = min(day for day in kept if day > gap[-1])
        hovered = strip.locator("[data-testid=crosshair-time]").inner_text()
        assert hovered in (before.isoformat(), after.isoformat()), (hovered, gap)


def test_import_page_creates_a_dataset_and_lists_a_bad_files_problems_by_line(
    app: str, server: K2qServer, users: dict[str, User], page: Page
) -> None:
    days = trading_days(dt.date(2024, 5, 1), dt.date(2024, 5, 31))
    sign_in(page, app, users["analyst"])
    page.goto(f"{app}/import")
    form = page.locator("[data-testid=import-form]")
    upload = form.locator("[data-testid=import-file]")
    upload.set_input_files({"name": "upld_daily.csv", "mimeType": "text/csv", "buffer": daily_csv(days)})
    expect(form.locator("input[name=symbol]")).to_have_value("UPLD")  # guessed from the file's name
    form.locator("select[name=timespan]").select_option("day")
    form.locator("[data-testid=import-submit]").click()
    done = page.locator("[data-testid=import-done]")
    expect(done).to_contain_text(f"Imported {len(days)} bars from a CSV file")
    table = page.locator("[data-testid=import-table]").inner_text()
    assert table == "upld_1day_2024-05-01_2024-05-31"
    expect(done).to_contain_text(f"({len(days)} bars stored)")
    expect(done).to_contain_text("open ← Open")
    stored = datasets(server)["UPLD"]
    assert (stored["table"], stored["source"], stored["total_records"]) == (table, "file", len(days))

    page.locator("[data-testid=import-open]").click()
    page.wait_for_url(f"**/analysis?table={table}*")
    assert wait_for_bars(page) == len(days)

    # A file with problems: each is listed by line, and nothing is stored.
    page.go_back()
    page.wait_for_url("**/import")
    allow_statuses(page, 422)
    lines = daily_csv(days, seed=1).decode().splitlines()
    lines[2] = f"{days[1]},abc,101,99,100,1000"  # line 3: the open is not a number
    lines[4] = f"{days[3]},10,9,11,10,100"  # line 5: the high is below the low
    upload.set_input_files({"name": "badf.csv", "mimeType": "text/csv", "buffer": "\n".join(lines).encode()})
    expect(form.locator("input[name=symbol]")).to_have_value("BADF")
    form.locator("select[name=timespan]").select_option("day")
    form.locator("[data-testid=import-submit]").click()
    rejected = page.locator("[data-testid=import-rejected]")
    expect(rejected.locator(".problem-title")).to_have_text("The file has 2 problems; nothing was stored.")
    expect(page.locator("[data-testid=import-problems] li")).to_have_text(
        ["line 3: Open: 'abc' is not a number", "line 5: High/Low: high 9 is below low 11"]
    )
    expect(page.locator("[data-testid=import-done]")).to_have_count(0)
    expect(page.locator("[data-testid=import-problem]")).to_have_count(0)
    stored_now = datasets(server)
    assert "BADF" not in stored_now
    assert stored_now["UPLD"]["total_records"] == len(days)
