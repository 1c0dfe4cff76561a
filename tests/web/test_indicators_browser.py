"""The Analysis page's indicator picker and panes, in headless Chromium, on the demo data.

A ``k2q up`` of its own (embedded stores, demo datasets, no live feed). Needs a built web app
(``web/dist``, or ``K2Q_TEST_WEB_DIST``) and Debian's ``/usr/bin/chromium``; skipped without either.

What lightweight-charts holds is read back from the chart's container: ``data-indicator-drawing``
is JSON with the pane count, each indicator series' kind, pane and level lines, and the number of
pattern markers on the candles (``web/src/chart/indicatorDrawing.ts``).
"""

from __future__ import annotations

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
PICKER = "[data-testid=indicator-picker]"
STRIP = "[data-testid=crosshair-strip]"
# Price and volume: the panes every chart has before any indicator.
BASE_PANES = 2
USER = {"username": "ind-analyst", "password": "correct horse indicator staple", "role": "analyst"}
# Chromium logs every 4xx/5xx answer to fetch() as a console error; tests that expect one allow it.
FAILED_LOAD = re.compile(r"Failed to load resource: the server responded with a status of (\d{3})")
_allowed_statuses: dict[int, set[int]] = {}

if not (DIST / "index.html").is_file() or not CHROMIUM.is_file():
    reason = f"needs {DIST / 'index.html'} (just web) and {CHROMIUM}"
    if os.environ.get("K2Q_REQUIRE_BROWSER"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)

from playwright.sync_api import Page, expect  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[K2qServer]:
    with running_up(tmp_path_factory.mktemp("k2q-ind-web"), K2Q_WEB_DIST=str(DIST)) as k2q:
        created = httpx.post(f"{k2q.url}/api/v1/admin/users", json=USER, headers=k2q.headers(), timeout=10)
        assert created.status_code in (200, 201), created.text
        yield k2q


@pytest.fixture
def page(server: K2qServer) -> Iterator[Page]:
    """A signed-in page; any uncaught script error or console error fails the test."""
    with signed_in_page(server.url, USER["username"], USER["password"]) as (tab, errors):
        yield tab
        allowed = _allowed_statuses.pop(id(tab), set())
        assert [e for e in errors if not ((m := FAILED_LOAD.search(e)) and int(m.group(1)) in allowed)] == []


def allow_statuses(page: Page, *statuses: int) -> None:
    """Let answers with these statuses (expected refusals) log console errors without failing the test."""
    _allowed_statuses.setdefault(id(page), set()).update(statuses)


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


def drawing(page: Page) -> dict[str, Any] | None:
    """What the chart holds of the indicators (``data-indicator-drawing``), or None before any is drawn."""
    text = page.locator(CHART).get_attribute("data-indicator-drawing")
    return json.loads(text) if text else None


def wait_for_drawing(page: Page, condition: str) -> dict[str, Any]:
    """Waits until the drawing satisfies ``condition`` (a JS expression over ``d``); returns it."""
    page.wait_for_function(
        f"""(sel) => {{ const c = document.querySelector(sel);
                        const text = c?.dataset.indicatorDrawing;
                        if (c === null || c.dataset.loading !== "false" || !text) return false;
                        const d = JSON.parse(text);
                        return {condition}; }}""",
        arg=CHART,
    )
    found = drawing(page)
    assert found is not None
    return found


def series_of(found: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in found["series"] if s["key"] == key)


def url_indicators(page: Page) -> list[str]:
    return parse_qs(urlparse(page.url).query).get("ind", [])


def pick(page: Page, search: str, name: str, params: dict[str, str] | None = None) -> None:
    """Searches the catalog, picks ``name``, fills ``params`` and adds it."""
    picker = page.locator(PICKER)
    picker.locator("[data-testid=indicator-input]").fill(search)
    picker.locator(f"[data-testid=catalog-item][data-name={name}]").click()
    form = picker.locator(f"[data-testid=indicator-params][data-name={name}]")
    expect(form).to_be_visible()
    for param, value in (params or {}).items():
        form.locator(f"[data-testid=indicator-param][data-param={param}]").fill(value)
    form.locator("[data-testid=indicator-submit]").click()
    expect(form).to_have_count(0)


def test_indicators_from_the_catalog_get_panes_overlays_and_markers(server: K2qServer, page: Page) -> None:
    open_chart(page, server)
    assert drawing(page) is None
    picker = page.locator(PICKER)

    # The catalog, grouped as TA-Lib groups its functions, then ours; what cannot be drawn is disabled.
    picker.locator("[data-testid=indicator-input]").focus()
    expect(picker.locator("[data-testid=catalog-item][data-name=RSI]")).to_be_visible()
    groups = picker.locator(".catalog-group").all_inner_texts()
    assert groups[0].lower() == "overlap studies", groups
    assert "k2 quant" in [g.lower() for g in groups], groups
    expect(picker.locator("[data-testid=catalog-item][data-name=MAVP]")).to_be_disabled()

    # RSI at its default period: a pane of its own below the volume, with its 30/70 levels.
    picker.locator("[data-testid=indicator-input]").fill("relative strength")
    picker.locator("[data-testid=catalog-item][data-name=RSI]").click()
    form = picker.locator("[data-testid=indicator-params][data-name=RSI]")
    expect(form.locator("[data-testid=indicator-param][data-param=timeperiod]")).to_have_value("14")
    form.locator("[data-testid=indicator-param][data-param=timeperiod]").fill("1")
    expect(form.locator("[data-testid=param-problem][data-param=timeperiod]")).to_be_visible()
    expect(form.locator("[data-testid=indicator-submit]")).to_be_disabled()
    form.locator("[data-testid=indicator-param][data-param=timeperiod]").fill("14")
    form.locator("[data-testid=indicator-submit]").click()
    page.wait_for_url(lambda url: parse_qs(urlparse(url).query).get("ind") == ["rsi"])
    found = wait_for_drawing(page, "d.series.some((s) => s.key === 'ind:rsi:real')")
    assert found["panes"] == BASE_PANES + 1, found
    assert series_of(found, "ind:rsi:real") == {
        "key": "ind:rsi:real",
        "kind": "Line",
        "pane": BASE_PANES,
        "levels": [30, 70],
    }
    strip = page.locator(STRIP)
    rsi = strip.locator("[data-testid=crosshair-indicator][data-key='ind:rsi:real']")
    expect(rsi).to_have_text(re.compile(r"^\d+\.\d{2}$"))
    assert 0 <= float(rsi.inner_text()) <= 100
    # RSI smooths exponentially: its first values, until it settles, are marked unstable; the last are not.
    expect(strip.locator("[data-testid=crosshair-unstable]")).to_have_count(0)
    box = page.locator(CHART).bounding_box()
    assert box is not None
    for x in range(2, int(box["width"] * 0.5), 3):
        page.mouse.move(box["x"] + x, box["y"] + box["height"] * 0.3)
        if rsi.inner_text() != "—":
            break
    expect(strip).to_have_attribute("data-hovered", "true")
    assert rsi.inner_text() != "—"
    expect(strip.locator(".strip-indicator[data-spec=rsi] [data-testid=crosshair-unstable]")).to_have_text(
        "unstable"
    )
    page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.3)
    expect(strip.locator("[data-testid=crosshair-unstable]")).to_have_count(0)
    page.mouse.move(5, 5)  # off the chart, so the picker's catalog takes the clicks below

    # An EMA: an overlay on the price pane, no pane of its own.
    pick(page, "exponential", "EMA", {"timeperiod": "20"})
    found = wait_for_drawing(page, "d.series.some((s) => s.key === 'ind:ema(20):real')")
    assert series_of(found, "ind:ema(20):real") == {
        "key": "ind:ema(20):real",
        "kind": "Line",
        "pane": 0,
        "levels": [],
    }
    assert found["panes"] == BASE_PANES + 1, found
    assert url_indicators(page) == ["rsi", "ema(20)"]

    # A candlestick pattern: markers on the candles, no series and no pane.
    pick(page, "engulfing", "CDLENGULFING")
    found = wait_for_drawing(page, "d.markers > 0")
    assert found["panes"] == BASE_PANES + 1, found
    assert [s["key"] for s in found["series"]] == ["ind:rsi:real", "ind:ema(20):real"]
    assert url_indicators(page) == ["rsi", "ema(20)", "cdlengulfing"]
    page.screenshot(path="/tmp/analysis-indicators.png")

    # Hidden: kept in the URL, its pane gone; shown again, back in its pane.
    picker.locator("[aria-label='Hide rsi']").click()
    page.wait_for_url(lambda url: "rsi;hide" in parse_qs(urlparse(url).query).get("ind", []))
    found = wait_for_drawing(page, "!d.series.some((s) => s.key === 'ind:rsi:real')")
    assert found["panes"] == BASE_PANES, found
    picker.locator("[aria-label='Show rsi']").click()
    found = wait_for_drawing(page, "d.series.some((s) => s.key === 'ind:rsi:real')")
    assert series_of(found, "ind:rsi:real")["pane"] == BASE_PANES

    # A colour of its own, in the URL.
    picker.locator("[aria-label='Colour of ema(20)']").click()
    picker.locator("[data-testid=indicator-swatch][data-color='#22d3ee']").click()
    page.wait_for_url(lambda url: "ema(20);c=22d3ee" in parse_qs(urlparse(url).query).get("ind", []))

    # Removing the pattern takes its markers away.
    picker.locator("[aria-label='Remove cdlengulfing']").click()
    wait_for_drawing(page, "d.markers === 0")


def test_an_indicator_longer_than_the_series_says_so_instead_of_an_empty_pane(
    server: K2qServer, page: Page
) -> None:
    open_chart(page, server, "&ind=sma(20)&ind=rsi(5000)")
    found = wait_for_drawing(page, "d.series.some((s) => s.key === 'ind:sma(20):real')")
    assert found["panes"] == BASE_PANES, found
    assert [s["key"] for s in found["series"]] == ["ind:sma(20):real"]
    shortfall = page.locator(f"{STRIP} [data-testid=indicator-shortfall][data-spec='rsi(5000)']")
    expect(shortfall).to_have_text(re.compile(r"^RSI\(5000\) needs 5001 bars; this series has \d+$"))
    note = page.locator(
        f"{PICKER} [data-testid=indicator-chip][data-spec='rsi(5000)'] [data-testid=indicator-note]"
    )
    expect(note).to_have_text(shortfall.inner_text())


def test_a_spec_the_server_refuses_is_dropped_with_its_reason(server: K2qServer, page: Page) -> None:
    open_chart(page, server, "&ind=sma(20)")
    wait_for_drawing(page, "d.series.length === 1")
    picker = page.locator(PICKER)
    allow_statuses(page, 422)
    # Typed in full, past the parameter form's checks: the server names the valid range.
    picker.locator("[data-testid=indicator-input]").fill("rsi(1)")
    picker.locator("[data-testid=indicator-input]").press("Enter")
    problem = picker.locator("[data-testid=indicator-problem]")
    expect(problem).to_contain_text(re.compile(r"^rsi\(1\): .*timeperiod.* from 2 to "))
    page.wait_for_url(lambda url: parse_qs(urlparse(url).query).get("ind") == ["sma(20)"])
    expect(picker.locator("[data-testid=indicator-chip]")).to_have_count(1)
    wait_for_drawing(page, "d.series.length === 1")
