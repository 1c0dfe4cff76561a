"""The Analysis page's strategies and screens, in headless Chromium, on the demo data.

A ``k2q up`` of its own (embedded stores, demo datasets, no live feed). Needs a built web app
(``web/dist``, or ``K2Q_TEST_WEB_DIST``) and Debian's ``/usr/bin/chromium``; skipped without either.

What the charts hold is read back from their containers: the price chart's ``data-trade-markers``
is JSON with the run and the entry and exit markers on the candles (``web/src/chart/useTradeMarkers.ts``);
the equity chart's ``data-curves`` and ``data-points`` count its curves and their points.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.process import K2qServer, running_up
from tests.web.chromium import CHROMIUM, signed_in_page

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DIST = Path(os.environ.get("K2Q_TEST_WEB_DIST") or ROOT / "web" / "dist")
CHART = "[data-testid=chart]"
PANEL = "[data-testid=strategies-panel]"
EDITOR = "[data-testid=strategy-editor]"
RESULTS = "[data-testid=run-results]"
USER = {"username": "strat-analyst", "password": "correct horse strategy staple", "role": "analyst"}
RUN_ID = re.compile(r"^[0-9a-f]{32}$")
# A first backtest compiles the simulation (numba) before it runs.
RUN_TIMEOUT_MS = 120_000

BROKEN = """# SMA crossover
fast = param(10, min=2, max=50)
long_entry = crossover(smaa(close, fast), sma(close, 30))
long_exit = crossunder(sma(close, fast), sma(close, 30))
"""
FIXED = BROKEN.replace("smaa(", "sma(")
PEEKING = """# Buys the day before a rise: reads tomorrow's close
long_entry = close[-1] > close
long_exit = close[-1] < close
"""

if not (DIST / "index.html").is_file() or not CHROMIUM.is_file():
    reason = f"needs {DIST / 'index.html'} (just web) and {CHROMIUM}"
    if os.environ.get("K2Q_REQUIRE_BROWSER"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)

from playwright.sync_api import Page, expect  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[K2qServer]:
    with running_up(tmp_path_factory.mktemp("k2q-strat-web"), K2Q_WEB_DIST=str(DIST)) as k2q:
        created = httpx.post(f"{k2q.url}/api/v1/admin/users", json=USER, headers=k2q.headers(), timeout=10)
        assert created.status_code in (200, 201), created.text
        yield k2q


@pytest.fixture
def page(server: K2qServer) -> Iterator[Page]:
    """A signed-in page; any uncaught script error or console error fails the test."""
    with signed_in_page(server.url, USER["username"], USER["password"], width=1600, height=1000) as (
        tab,
        errors,
    ):
        yield tab
        assert errors == []


@contextlib.contextmanager
def api(server: K2qServer) -> Iterator[httpx.Client]:
    """An API client signed in as the test's analyst (cookies and the CSRF header)."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        credentials = {"username": USER["username"], "password": USER["password"]}
        login = client.post("/api/v1/auth/login", json=credentials)
        assert login.status_code == 200, login.text
        client.headers["X-CSRF-Token"] = client.cookies["k2q_csrf"]
        yield client


def demo_day_table(server: K2qServer) -> str:
    tables = httpx.get(f"{server.url}/api/v1/stocks/tables", headers=server.headers(), timeout=10).json()
    return str(next(t["table"] for t in tables if t["symbol"] == "DEMO" and t["timespan"] == "day"))


def open_chart(page: Page, server: K2qServer, query: str = "") -> None:
    page.goto(f"{server.url}/analysis?table={demo_day_table(server)}&tf=1d{query}")
    page.wait_for_function(
        """(sel) => { const c = document.querySelector(sel);
                      return c !== null && c.dataset.loading === "false"
                        && Number(c.dataset.bars) > 100; }""",
        arg=CHART,
    )


def type_code(page: Page, code: str) -> None:
    """Replaces the editor's text, as pasted (no key-by-key completion popups)."""
    content = page.locator(f"{EDITOR} .cm-content")
    content.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text(code)
    page.keyboard.press("Escape")


def trade_markers(page: Page) -> dict[str, Any]:
    """What the price chart marks of a run, once it marks something."""
    page.wait_for_function(
        """(sel) => { const text = document.querySelector(sel)?.dataset.tradeMarkers;
                      return !!text && JSON.parse(text).entries > 0; }""",
        arg=CHART,
    )
    text = page.locator(CHART).get_attribute("data-trade-markers")
    assert text is not None
    found: dict[str, Any] = json.loads(text)
    return found


def url_run(page: Page) -> str:
    return parse_qs(urlparse(page.url).query).get("run", [""])[0]


def test_write_check_save_run_and_see_metrics_equity_and_trades(server: K2qServer, page: Page) -> None:
    open_chart(page, server)
    page.locator("[data-testid=strategies-toggle]").click()
    panel = page.locator(PANEL)
    panel.locator("[data-testid=strategy-new]").click()
    expect(page.locator(f"{EDITOR} .cm-content")).to_be_visible()  # CodeMirror, loaded on demand
    panel.locator("[data-testid=strategy-name]").fill("SMA cross (browser)")

    # A misspelt indicator: marked in the text where it is, and listed with the closest name.
    type_code(page, BROKEN)
    expect(panel.locator("[data-testid=strategy-check]")).to_have_attribute("data-state", "problems")
    mark = page.locator(f"{EDITOR} .cm-lintRange-error")
    expect(mark).to_have_count(1)
    assert mark.inner_text() == "smaa"
    problems = panel.locator("[data-testid=strategy-problems] li")
    expect(problems).to_have_count(1)
    expect(problems.first).to_contain_text(re.compile(r"^line 3, column 24: unknown name 'smaa'.*sma"))
    expect(page.locator(f"{EDITOR} .cm-gutter-lint .cm-lint-marker-error")).to_have_count(1)

    # Fixed: it parses, the marks go, and it declares its rules.
    type_code(page, FIXED)
    expect(panel.locator("[data-testid=strategy-check]")).to_have_attribute("data-state", "ok")
    expect(panel.locator("[data-testid=strategy-check]")).to_contain_text("long_entry, long_exit")
    expect(mark).to_have_count(0)
    expect(panel.locator("[data-testid=strategy-problems]")).to_have_count(0)

    # Completion offers the catalog's functions in lower case.
    page.locator(f"{EDITOR} .cm-content").click()
    page.keyboard.press("ControlOrMeta+End")
    page.keyboard.type("size = ema")
    expect(page.locator(".cm-tooltip-autocomplete")).to_contain_text("ema")
    page.keyboard.press("Escape")
    type_code(page, FIXED)
    expect(panel.locator("[data-testid=strategy-check]")).to_have_attribute("data-state", "ok")

    # Saved: listed, at version 1, and the run form offers its declared parameter.
    panel.locator("[data-testid=strategy-save]").click()
    expect(panel.locator("[data-testid=strategy-saved]")).to_have_text("saved · v1")
    expect(panel.locator("[data-testid=strategy-item][data-name='SMA cross (browser)']")).to_have_count(1)
    form = panel.locator("[data-testid=run-form]")
    expect(form.locator("[data-testid=run-series]")).to_contain_text("DEMO")
    expect(form.locator("[data-testid=run-param][data-param=fast]")).to_have_attribute("placeholder", "10")
    form.locator("[data-testid=run-param][data-param=fast]").fill("12")

    # Run on the charted series: the run goes into the URL and its results under the chart.
    form.locator("[data-testid=run-submit]").click()
    page.wait_for_url(lambda url: RUN_ID.match(parse_qs(urlparse(url).query).get("run", [""])[0]) is not None)
    run_id = url_run(page)
    results = page.locator(RESULTS)
    expect(results).to_have_attribute("data-status", "complete", timeout=RUN_TIMEOUT_MS)
    expect(results).to_have_attribute("data-run", run_id)
    expect(results.locator("[data-testid=run-status]")).to_have_text("complete")
    expect(results.locator(".run-values")).to_have_text("fast=12")

    # Metrics, the look-ahead audit's verdict, the trades.
    metrics = results.locator("[data-testid=run-metrics]")
    expect(metrics.locator("tr[data-metric=total_return_pct] [data-testid=metric-value]")).to_have_text(
        re.compile(r"^-?[\d,]+\.\d\d%$")
    )
    trades = int(metrics.locator("tr[data-metric=num_trades] [data-testid=metric-value]").inner_text())
    assert trades > 0
    expect(metrics.locator("tr[data-metric=sharpe]")).to_have_count(1)
    expect(results.locator("[data-testid=audit-flag]")).to_have_attribute("data-uses-future-data", "false")
    rows = results.locator("[data-testid=run-trades] [data-testid=trade-row]")
    expect(rows).to_have_count(trades)

    # The equity curve and drawdown: a chart of their own, not a table.
    equity = results.locator("[data-testid=equity-chart]")
    expect(equity).to_have_attribute("data-curves", "1")
    assert int(equity.get_attribute("data-points") or "0") > 100
    expect(equity.locator("canvas").first).to_be_visible()

    # The trades on the price chart: an entry marker per trade, an exit per closed one.
    found = trade_markers(page)
    assert found["run"] == run_id
    assert found["entries"] == trades, found
    assert trades - 1 <= found["exits"] <= trades, found
    page.screenshot(path="/tmp/analysis-strategies.png")

    # A reload keeps the run: its results and its markers come back from the URL.
    page.reload()
    expect(page.locator(RESULTS)).to_have_attribute("data-status", "complete")
    assert trade_markers(page)["run"] == run_id


def test_a_strategy_that_reads_the_future_is_flagged(server: K2qServer, page: Page) -> None:
    with api(server) as client:
        created = client.post(
            "/api/v1/strategies/create", json={"name": "Peeks ahead", "code": PEEKING, "description": ""}
        )
        assert created.status_code == 201, created.text
        body = {
            "strategy": created.json()["id"],
            "table": demo_day_table(server),
            "timeframe": "1d",
            "session": "extended",
            "cash": 10_000,
            "commission": 0,
            "slippage": 0,
            "mode": "default",
        }
        accepted = client.post("/api/v1/strategies/apply", json=body)
        assert accepted.status_code == 202, accepted.text
        run_id = accepted.json()["run_id"]

    open_chart(page, server, f"&run={run_id}")
    results = page.locator(RESULTS)
    expect(results).to_have_attribute("data-status", "complete", timeout=RUN_TIMEOUT_MS)
    flag = results.locator("[data-testid=audit-flag]")
    expect(flag).to_have_attribute("data-uses-future-data", "true")
    expect(flag).to_contain_text("Uses future data")
    assert int(flag.get_attribute("data-first-bar") or "-1") >= 0
    assert trade_markers(page)["run"] == run_id


def test_a_screen_lists_matches_sorts_them_and_opens_one(server: K2qServer, page: Page) -> None:
    open_chart(page, server)
    page.locator("[data-testid=under-screen]").click()
    box = page.locator("[data-testid=screen-expression] .cm-content")
    box.click()
    page.keyboard.insert_text("close > 0")
    page.keyboard.press("Escape")
    page.locator("[data-testid=screen-run]").click()
    rows = page.locator("[data-testid=screen-results] [data-testid=screen-row]")
    expect(rows.first).to_be_visible()
    symbols = [r.inner_text().split()[0] for r in rows.all()]
    assert {"DEMO", "SYNTH"} <= set(symbols), symbols
    assert symbols == sorted(symbols)  # by symbol, A to Z, until a column is clicked

    # Sorted by close, highest first (SYNTH trades far above DEMO), then back.
    page.locator("[data-testid=screen-sort][data-column=close]").click()
    expect(rows.first).to_have_attribute("data-table", re.compile(r"^synth_"))
    page.locator("[data-testid=screen-sort][data-column=close]").click()
    expect(rows.first).to_have_attribute("data-table", re.compile(r"^demo_"))

    # A match opens its dataset on the chart.
    synth = page.locator("[data-testid=screen-row][data-table^=synth_]")
    table = synth.get_attribute("data-table")
    synth.click()
    page.wait_for_url(lambda url: parse_qs(urlparse(url).query).get("table") == [table])
    expect(page.locator(".chart-head .symbol")).to_have_text("SYNTH")
