"""The Analysis page's projections, in headless Chromium, on the demo data with the live demo feed on.

A ``k2q up`` of its own with the synthetic live feed (so the last candle moves while a projection is
drawn). Needs a built web app (``web/dist``, or ``K2Q_TEST_WEB_DIST``) and Debian's
``/usr/bin/chromium``; skipped without either.

What the chart holds is read back from its container: ``data-projections`` is JSON with the
candles' count, how many of them are whitespace, the last candle's time, and per projection its
median's line style and its median and band points, in all and after the last candle
(``web/src/chart/projectionDrawing.ts``); ``data-last-candle`` is the last candle and volume bar the
chart holds, as of the last live update.
"""

from __future__ import annotations

import json
import os
import re
import time
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
PANEL = "[data-testid=projections-panel]"
USER = {"username": "proj-analyst", "password": "correct horse projection staple", "role": "analyst"}
PROJECTION_ID = re.compile(r"^[0-9a-f]{32}$")
HORIZON = 10
DAY_MS = 86_400_000
# A first projection or evaluation may load and compile its methods (statsforecast) on the worker.
JOB_TIMEOUT_MS = 180_000

if not (DIST / "index.html").is_file() or not CHROMIUM.is_file():
    reason = f"needs {DIST / 'index.html'} (just web) and {CHROMIUM}"
    if os.environ.get("K2Q_REQUIRE_BROWSER"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)

from playwright.sync_api import Page, expect  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[K2qServer]:
    with running_up(
        tmp_path_factory.mktemp("k2q-proj-web"), K2Q_LIVE_DEMO="1", K2Q_WEB_DIST=str(DIST)
    ) as k2q:
        created = httpx.post(f"{k2q.url}/api/v1/admin/users", json=USER, headers=k2q.headers(), timeout=10)
        assert created.status_code in (200, 201), created.text
        yield k2q


@pytest.fixture
def page(server: K2qServer) -> Iterator[Page]:
    """A signed-in page; any uncaught script error or console error fails the test.

    But one: a series without a complete evaluation has no leaderboard, a 404 the page expects and
    the browser logs as a failed load. Any other refused request fails the test too.
    """
    with signed_in_page(server.url, USER["username"], USER["password"], width=1600, height=1000) as (
        tab,
        errors,
    ):
        refused: list[tuple[int, str]] = []
        tab.on(
            "response",
            lambda r: refused.append((r.status, urlparse(r.url).path)) if r.status >= 400 else None,
        )
        yield tab
        no_leaderboard = [r for r in refused if r == (404, "/api/v1/projections/leaderboard")]
        assert [r for r in refused if r not in no_leaderboard] == []
        failed_loads = [e for e in errors if e.startswith("Failed to load resource") and "404" in e]
        assert len(failed_loads) <= len(no_leaderboard), errors
        assert [e for e in errors if e not in failed_loads] == []


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


def url_projections_of(url: str) -> list[str]:
    return [p for p in parse_qs(urlparse(url).query).get("proj", [""])[0].split(",") if p]


def url_projections(page: Page) -> list[str]:
    return url_projections_of(page.url)


def drawn(page: Page, projection_id: str) -> dict[str, Any]:
    """What the chart draws of the projections, once it draws `projection_id` past the last candle."""
    page.wait_for_function(
        """([sel, id]) => { const text = document.querySelector(sel)?.dataset.projections;
                            if (!text) return false;
                            const p = JSON.parse(text).projections.find((q) => q.id === id);
                            return !!p && p.futureMedian > 0 && p.futureBand > 0; }""",
        arg=[CHART, projection_id],
    )
    text = page.locator(CHART).get_attribute("data-projections")
    assert text is not None
    found: dict[str, Any] = json.loads(text)
    return found


def projection_of(summary: dict[str, Any], projection_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(p for p in summary["projections"] if p["id"] == projection_id)
    return found


def test_a_projection_is_drawn_past_the_last_bar_while_the_live_candle_moves(
    server: K2qServer, page: Page
) -> None:
    # The last 200 days in daily bars, and room on the right for what is to come.
    now = int(time.time() * 1000)
    open_chart(page, server, f"&from={now - 200 * DAY_MS}&to={now + 25 * DAY_MS}")
    assert page.locator(CHART).get_attribute("data-bucket") == "1d"
    page.locator("[data-testid=projections-toggle]").click()
    panel = page.locator(PANEL)
    expect(panel.locator("[data-testid=projection-series]")).to_contain_text("DEMO")
    expect(panel.locator("[data-testid=projection-series]")).to_contain_text("1d")

    # A Monte-Carlo fan, ten trading days ahead, through the form.
    panel.locator("[data-testid=projection-method]").select_option("gbm")
    panel.locator("[data-testid=projection-horizon]").fill(str(HORIZON))
    panel.locator("[data-testid=projection-param][data-param=paths]").fill("500")
    panel.locator("[data-testid=projection-submit]").click()
    page.wait_for_url(lambda url: any(PROJECTION_ID.match(p) for p in url_projections_of(url)))
    (projection_id,) = url_projections(page)
    item = panel.locator(f"[data-testid=projection-item][data-id='{projection_id}']")
    expect(item).to_have_attribute("data-status", "complete", timeout=JOB_TIMEOUT_MS)
    expect(item).to_have_attribute("data-drawn", "true")
    expect(item.locator("[data-testid=projection-score]")).to_have_text("not scored yet")

    # Drawn past the last bar: the median dashed, the band filled, both reaching the future buckets
    # through their own series — the candles stay the real bars, without whitespace.
    summary = drawn(page, projection_id)
    assert summary["candleWhitespace"] == 0, summary
    proj = projection_of(summary, projection_id)
    assert proj["style"] == "dashed", proj
    # Every step is to come (one fewer should the live feed start a new day meanwhile).
    assert HORIZON - 1 <= proj["futureMedian"] <= HORIZON, proj
    assert proj["futureBand"] == proj["futureMedian"], proj
    assert proj["median"] >= proj["futureMedian"], proj
    assert proj["band"] >= proj["futureBand"], proj
    assert proj["lastTime"] > summary["lastCandle"], proj
    assert int(page.locator(CHART).get_attribute("data-bars") or 0) == summary["candles"]

    # The legend names it: method, horizon, level, when it was made, and that its bars are to come.
    legend = page.locator(f"[data-testid=projection-legend-item][data-id='{projection_id}']")
    expect(legend).to_contain_text(
        re.compile(r"^GBM h10 80% · made \d{4}-\d\d-\d\d \d\d:\d\d ET · not scored yet$")
    )

    # The live feed moves the last candle while the projection is drawn (read back from the chart).
    expect(page.locator("[data-testid=live-badge]")).to_contain_text("synthetic")
    before = page.locator(CHART).get_attribute("data-last-candle")
    assert before, "no last candle read back"
    page.wait_for_function(
        "([sel, text]) => { const now = document.querySelector(sel).dataset.lastCandle;"
        " return !!now && now !== text; }",
        arg=[CHART, before],
        timeout=30_000,
    )
    after = json.loads(page.locator(CHART).get_attribute("data-last-candle") or "{}")
    assert after["time"] >= json.loads(before)["time"]
    summary = drawn(page, projection_id)
    assert summary["candleWhitespace"] == 0, summary
    assert projection_of(summary, projection_id)["futureMedian"] >= 1
    page.screenshot(path="/tmp/analysis-projections.png")

    # A reload keeps it drawn: the URL names it.
    page.reload()
    page.wait_for_function("(sel) => document.querySelector(sel)?.dataset.loading === 'false'", arg=CHART)
    assert projection_of(drawn(page, projection_id), projection_id)["style"] == "dashed"
    expect(page.locator(f"[data-testid=projection-legend-item][data-id='{projection_id}']")).to_be_visible()

    # Hidden from the list: off the chart and out of the URL; deleted: gone from the list.
    page.locator("[data-testid=projections-toggle]").click()
    item = page.locator(PANEL).locator(f"[data-testid=projection-item][data-id='{projection_id}']")
    # (The URL changes in a transition: the box follows it a moment later.)
    item.locator("[data-testid=projection-show]").click()
    expect(item).to_have_attribute("data-drawn", "false")
    page.wait_for_function(
        "(sel) => document.querySelector(sel)?.dataset.projections === undefined", arg=CHART
    )
    assert url_projections(page) == []
    item.locator("[data-testid=projection-delete]").click()
    item.locator("[data-testid=projection-delete]").click()
    expect(item).to_have_count(0)


def test_an_evaluation_ranks_the_methods_with_their_skill_against_naive(
    server: K2qServer, page: Page
) -> None:
    open_chart(page, server)
    page.locator("[data-testid=projections-toggle]").click()
    panel = page.locator(PANEL)
    panel.locator("[data-testid=evaluation-horizon]").fill("5")
    panel.locator("[data-testid=evaluation-cuts]").fill("3")
    panel.locator("[data-testid=evaluation-submit]").click()
    rows = panel.locator("[data-testid=leaderboard] [data-testid=leaderboard-row]")
    expect(rows).to_have_count(5, timeout=JOB_TIMEOUT_MS)
    table = panel.locator("[data-testid=leaderboard]")
    expect(table).to_have_attribute("data-horizon", "5")
    expect(table).to_have_attribute("data-cuts", "3")
    methods = [r.get_attribute("data-method") for r in rows.all()]
    assert sorted(m or "" for m in methods) == ["autoarima", "ets", "gbm", "linreg", "naive"], methods
    naive = panel.locator("[data-testid=leaderboard-row][data-method=naive]")
    assert float(naive.get_attribute("data-skill") or "nan") == 0.0
    expect(naive.locator("td").nth(2)).to_have_text("0.0%")
    # Ranked best first: by MAE, so skill against naive only falls down the table.
    skills = [float(r.get_attribute("data-skill") or "nan") for r in rows.all()]
    assert skills == sorted(skills, reverse=True), skills
    page.screenshot(path="/tmp/analysis-projections-leaderboard.png")

    # The series' leaderboard is its latest complete evaluation: there after a reload.
    page.reload()
    page.locator("[data-testid=projections-toggle]").click()
    expect(page.locator(f"{PANEL} [data-testid=leaderboard] [data-testid=leaderboard-row]")).to_have_count(5)
