"""The REST backfill engine end to end: loopback Polygon → windows → ClickHouse, checkpointed in Postgres.

Jobs run through :func:`pipelines.jobs.runner.run_job` on the session's real stores; most tests use
a Polygon source with millisecond backoff so that scripted failures exhaust their retries quickly.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import numpy as np
import pytest

from api.runtime import Runtime
from pipelines.ingest.fetch import MARKET, Fetcher
from pipelines.ingest.sources.polygon_rest import PolygonRestSource, plan_windows
from pipelines.ingest.sources.request_budget import RequestBudget
from pipelines.jobs import runner
from pipelines.jobs.kinds import JobKind
from pipelines.jobs.submit import record
from pipelines.services import Services
from schemas.bars import SeriesKey, SeriesRequest
from schemas.datasets import FetchRequest
from schemas.jobs import JobStatus
from tests.conftest import POLYGON_KEY, app_client, drain_jobs
from tests.loopback.polygon import NEW_YORK, Fault, PolygonLoopback
from tests.pipelines.ingest.test_polygon_rest import bars_at, day_bars, minute_bars, ny_ms
from warehouse.catalog.fetch_windows import FetchWindowRepository

JAN, APR = dt.date(2024, 1, 2), dt.date(2024, 4, 30)


@pytest.fixture
async def fast(clean: Runtime, polygon: PolygonLoopback) -> AsyncIterator[Services]:
    """The runtime's services with a Polygon source that retries three times, milliseconds apart."""
    source = PolygonRestSource(
        POLYGON_KEY,
        base_url=polygon.base_url,
        max_in_flight=8,
        max_attempts=3,
        backoff_base_s=0.001,
        max_backoff_s=0.02,
    )
    yield with_source(clean, source)
    await source.aclose()


def with_source(runtime: Runtime, source: PolygonRestSource) -> Services:
    services = runtime.services
    fetcher = Fetcher(
        {"polygon": source, "synthetic": runtime.sources["synthetic"]},
        services.bars,
        services.catalog,
        services.versions,
        windows=FetchWindowRepository(runtime.stack.pool),
        writer=services.writer,
    )
    return dataclasses.replace(services, fetcher=fetcher)


async def run_job(services: Services, **body: Any) -> JobStatus:
    request = msgspec.convert(body, FetchRequest)
    job_id = await record(services.jobs, JobKind.FETCH, request, "admin")
    await runner.run_job(services, JobKind.FETCH, job_id, request, "admin")
    return await services.jobs.get(job_id)


async def query(runtime: Runtime, sql: str) -> list[tuple[Any, ...]]:
    return await runtime.stack.clickhouse.run(lambda client: list(client.query(sql).result_rows))


async def stored(runtime: Runtime, symbol: str, *, final: bool = False, adjusted: bool = True) -> int:
    """Rows of a symbol's series in the bar table; without FINAL every physical copy counts."""
    rows = await query(
        runtime,
        f"SELECT count() FROM bars {'FINAL' if final else ''}"
        f" WHERE symbol = '{symbol}' AND adjusted = {int(adjusted)}",
    )
    return int(rows[0][0])


def requested_windows(polygon: PolygonLoopback, symbol: str) -> list[str]:
    """The ``from/to`` of every aggregates request for ``symbol`` (cursor pages included)."""
    prefix = f"/v2/aggs/ticker/{symbol}/range/"
    return ["/".join(seen.path.split("/")[-2:]) for seen in polygon.requests if seen.path.startswith(prefix)]


def trading(start: dt.date, end: dt.date, *closed: dt.date) -> list[dt.date]:
    days = (start + dt.timedelta(days=i) for i in range((end - start).days + 1))
    return [day for day in days if day.weekday() < 5 and day not in closed]


# -- scale: many symbols, one bound -------------------------------------------------------------


async def test_hundreds_of_tickers_in_one_job_share_one_bound(fast: Services, clean: Runtime, polygon):
    tickers = [f"T{i:03d}" for i in range(300)]
    for index, ticker in enumerate(tickers):
        polygon.add_bars(ticker, 1, "day", day_bars(dt.date(2024, 1, 2), dt.date(2024, 1, 12), seed=index))
    polygon.latency_s = 0.01

    status = await run_job(
        fast, symbols=tickers, timespan="day", **{"from": "2024-01-01", "to": "2024-01-31"}
    )

    assert status.state == "complete", status.error
    assert len(status.symbols) == 300
    assert all(item.windows_done == item.windows_total == 1 and item.bars == 9 for item in status.symbols)
    assert len(polygon.requests) == 300
    assert 2 <= polygon.max_concurrency <= 8  # symbols overlap, never beyond the source's bound
    datasets = await clean.services.catalog.all()
    assert len(datasets) == 300
    assert {d.total_records for d in datasets} == {9}
    assert int((await query(clean, "SELECT count() FROM bars"))[0][0]) == 300 * 9
    assert "stored 2,700 bars for 300 of 300 symbols" in (status.message or "")


async def test_request_budget_spaces_requests_over_rolling_minutes():
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    budget = RequestBudget(5, clock=lambda: now[0], sleep=sleep)
    starts = []
    for _ in range(17):
        await budget.acquire()
        starts.append(now[0])
        now[0] += 1.0  # each request takes a second
    assert starts[:5] == [0, 1, 2, 3, 4]
    assert starts[5] == 60  # the sixth waits for the first to leave the rolling minute
    assert all(sum(1 for s in starts if t <= s < t + 60) <= 5 for t in starts)
    budget.pause(30)
    before = now[0]
    await budget.acquire()
    assert now[0] >= before + 30
    unlimited = RequestBudget(0, clock=lambda: now[0], sleep=sleep)
    slept.clear()
    for _ in range(100):
        await unlimited.acquire()
    assert slept == []


async def test_requests_per_minute_budget_paces_a_fetch(clean: Runtime, polygon):
    polygon.add_bars("AAA", 1, "minute", minute_bars(JAN, APR))
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:  # a fake clock: the test does not wait a minute
        slept.append(seconds)
        now[0] += seconds
        await asyncio.sleep(0)

    source = PolygonRestSource(POLYGON_KEY, base_url=polygon.base_url, requests_per_minute=2)
    source.budget = RequestBudget(2, clock=lambda: now[0], sleep=sleep)
    try:
        status = await run_job(with_source(clean, source), symbols=["AAA"], timespan="minute",
                               **{"from": str(JAN), "to": str(APR)})  # fmt: skip
    finally:
        await source.aclose()
    assert status.state == "complete", status.error
    assert len(polygon.requests) == 3
    assert slept
    assert sum(slept) >= 60


# -- whole market -----------------------------------------------------------------------------


async def test_whole_market_daily_bars_come_from_the_grouped_endpoint(
    fast: Services, clean: Runtime, polygon
):
    july_4 = dt.date(2024, 7, 4)
    days = trading(dt.date(2024, 7, 1), dt.date(2024, 7, 12), july_4)
    midnights = np.array([ny_ms(day) for day in days], dtype=np.int64)
    tickers = [f"M{i:02d}" for i in range(40)] + ["KIMpL", "BRK.A", "bad$one", "SYNTH1"]
    for index, ticker in enumerate(tickers):
        held = midnights if index % 7 else midnights[::2]  # some tickers skip days
        polygon.add_bars(ticker, 1, "day", bars_at(held, seed=index))
        polygon.add_bars(ticker, 1, "day", bars_at(held, scale=0.5, seed=index), adjusted=False)
    synthetic = await run_job(
        fast, symbols=["SYNTH1"], source="synthetic", **{"from": "2024-07-01", "to": "2024-07-12"}
    )
    assert synthetic.state == "complete"

    status = await run_job(fast, market=True, **{"from": "2024-06-29", "to": "2024-07-14"})

    assert status.state == "complete", status.error
    assert [item.symbol for item in status.symbols] == [MARKET]
    assert status.symbols[0].windows_done == status.symbols[0].windows_total == len(days) == 9
    grouped = [seen for seen in polygon.requests if "/grouped/" in seen.path]
    assert sorted(seen.path.rsplit("/", 1)[1] for seen in grouped) == [str(day) for day in days]
    assert all(seen.query["adjusted"] == "true" for seen in grouped)
    assert "left out 2 tickers (SYNTH1, bad$one)" in (status.message or "")
    market = [d for d in await clean.services.catalog.all() if d.source == "polygon"]
    assert sorted(d.symbol for d in market) == sorted(tickers[:42])
    assert {d.table for d in market if d.symbol == "BRK.A"} == {"brk-a_1day_2024-06-29_2024-07-14"}
    counts = {d.symbol: d.total_records for d in market}
    assert counts["M00"] == 5
    assert counts["M01"] == 9
    stamps = await query(clean, "SELECT DISTINCT ts FROM bars WHERE symbol = 'M01' ORDER BY ts")
    assert [int(row[0].timestamp() * 1000) for row in stamps] == midnights.tolist()  # start of day, not end

    # The per-ticker endpoint stamps the same days: fetching one ticker adds no second copy.
    again = await run_job(fast, symbols=["M01"], **{"from": "2024-06-29", "to": "2024-07-14"})
    assert again.state == "complete"
    assert await stored(clean, "M01", final=True) == 9  # the same bars: re-stored, read once
    raw = await run_job(fast, market=True, adjusted=False, **{"from": "2024-07-01", "to": "2024-07-03"})
    assert raw.state == "complete", raw.error
    assert await stored(clean, "M01", adjusted=False) == 3
    assert all(seen.query["adjusted"] == "false" for seen in polygon.requests[-3:])


# -- failures and resumption --------------------------------------------------------------------


async def test_a_failing_window_fails_alone_and_a_rerun_fetches_only_it(
    fast: Services, clean: Runtime, polygon
):
    bars = minute_bars(JAN, APR)
    for symbol in ("AAPL", "MSFT"):
        polygon.add_bars(symbol, 1, "minute", bars)
    key = SeriesKey(symbol="MSFT", multiplier=1, timespan="minute")
    windows = plan_windows(SeriesRequest(key=key, start=JAN, end=APR))
    assert len(windows) == 3
    first, last = windows[1]
    polygon.inject(Fault.truncated(), times=None, path_contains=f"/MSFT/range/1/minute/{first}/")
    body = {"symbols": ["AAPL", "MSFT"], "timespan": "minute", "from": str(JAN), "to": str(APR)}

    status = await run_job(fast, **body)

    assert status.state == "failed"
    aapl, msft = status.symbols
    assert aapl.error is None
    assert aapl.windows_done == 3
    assert aapl.bars == len(bars["t"])
    assert (msft.windows_done, msft.windows_failed, msft.windows_total) == (2, 1, 3)
    assert msft.error is not None
    assert f"1 of 3 windows failed: {first}..{last}" in msft.error
    assert "truncated" in msft.error
    assert "MSFT" in (status.error or "")
    assert "run the same fetch again" in (status.error or "")
    in_window = int(np.sum((bars["t"] >= ny_ms(first)) & (bars["t"] < ny_ms(last + dt.timedelta(days=1)))))
    assert await stored(clean, "MSFT") == len(bars["t"]) - in_window  # the others are stored
    datasets = {d.symbol: d.total_records for d in await clean.services.catalog.all()}
    assert datasets == {"AAPL": len(bars["t"]), "MSFT": len(bars["t"]) - in_window}

    polygon.clear_faults()
    polygon.requests.clear()
    rerun = await run_job(fast, **body)

    assert rerun.state == "complete", rerun.error
    assert requested_windows(polygon, "MSFT") == [f"{first}/{last}"]
    assert requested_windows(polygon, "AAPL") == []
    assert [item.bars for item in rerun.symbols] == [len(bars["t"])] * 2
    assert await stored(clean, "AAPL") == await stored(clean, "MSFT") == len(bars["t"])  # once each

    # After a complete run, the same fetch is a refresh: everything is asked for again.
    polygon.requests.clear()
    assert (await run_job(fast, **body)).state == "complete"
    assert len(requested_windows(polygon, "AAPL")) == len(requested_windows(polygon, "MSFT")) == 3
    assert await stored(clean, "MSFT", final=True) == len(bars["t"])  # re-stored, read once


async def test_rate_limit_storms_and_flaky_pages_still_store_every_bar_once(clean: Runtime, polygon):
    bars = minute_bars(dt.date(2024, 2, 1), dt.date(2024, 3, 29))
    for symbol in ("AAA", "BBB", "CCC"):
        polygon.add_bars(symbol, 1, "minute", bars)
    polygon.max_page_size = 5_000  # every window pages through next_url
    polygon.inject(Fault.rate_limited(retry_after=0.01), times=12)
    polygon.inject(Fault.rate_limited(), times=4)
    polygon.inject(Fault.bad_gateway(), times=3)
    polygon.inject(Fault.truncated(), times=3)
    polygon.inject(Fault.slow(0.05), times=3)
    source = PolygonRestSource(
        POLYGON_KEY,
        base_url=polygon.base_url,
        max_in_flight=8,
        max_attempts=20,
        backoff_base_s=0.001,
        max_backoff_s=0.02,
    )
    try:
        status = await run_job(with_source(clean, source), symbols=["AAA", "BBB", "CCC"], timespan="minute",
                               **{"from": "2024-02-01", "to": "2024-03-29"})  # fmt: skip
    finally:
        await source.aclose()

    assert status.state == "complete", status.error
    statuses = [seen.status for seen in polygon.requests]
    assert statuses.count(429) == 16
    assert statuses.count(502) == 3
    assert any("cursor" in seen.query for seen in polygon.requests)
    assert polygon.missing_adjusted == 0
    for symbol in ("AAA", "BBB", "CCC"):
        assert await stored(clean, symbol) == await stored(clean, symbol, final=True) == len(bars["t"])


async def test_split_crossing_range_keeps_adjusted_and_raw_bars_apart(
    fast: Services, clean: Runtime, polygon
):
    start, end = dt.date(2020, 8, 3), dt.date(2020, 9, 30)
    raw = day_bars(start, end)
    split = ny_ms(dt.date(2020, 8, 31))
    factor = np.where(raw["t"] < split, 0.25, 1.0)  # a 4-for-1 split on 2020-08-31
    adjusted = {
        **raw,
        **{name: raw[name] * factor for name in ("o", "h", "l", "c", "vw")},
        "v": raw["v"] / factor,
    }
    polygon.add_bars("AAPL", 1, "day", raw, adjusted=False)
    polygon.add_bars("AAPL", 1, "day", adjusted, adjusted=True)
    polygon.max_page_size = 7  # pages: the cursor keeps neither the key nor adjusted

    unadjusted = await run_job(fast, symbols=["AAPL"], adjusted=False, **{"from": str(start), "to": str(end)})
    split_adjusted = await run_job(
        fast, symbols=["AAPL"], adjusted=True, **{"from": str(start), "to": str(end)}
    )

    assert unadjusted.state == split_adjusted.state == "complete"
    assert unadjusted.symbols[0].table == "aapl_1day_2020-08-03_2020-09-30_raw"
    assert split_adjusted.symbols[0].table == "aapl_1day_2020-08-03_2020-09-30"
    assert polygon.missing_adjusted == 0
    for flag, expected in ((0, raw), (1, adjusted)):
        rows = await query(
            clean,
            "SELECT ts, close, volume FROM bars FINAL"
            f" WHERE symbol = 'AAPL' AND adjusted = {flag} ORDER BY ts",
        )
        assert [int(row[0].timestamp() * 1000) for row in rows] == expected["t"].tolist()
        assert [row[1] for row in rows] == pytest.approx(expected["c"].tolist())
        assert [row[2] for row in rows] == pytest.approx(expected["v"].tolist())


async def test_unknown_key_fails_the_job_with_the_provider_message_and_touches_nothing(
    clean: Runtime, polygon
):
    synthetic = await run_job(
        clean.services, symbols=["KEEP"], source="synthetic", **{"from": "2024-01-02", "to": "2024-01-31"}
    )
    assert synthetic.state == "complete"
    before = (await clean.services.catalog.all(), await stored(clean, "KEEP"))
    polygon.add_bars("AAPL", 1, "day", day_bars(dt.date(2024, 1, 2), dt.date(2024, 1, 31)))
    source = PolygonRestSource("not-the-key", base_url=polygon.base_url)
    try:
        status = await run_job(
            with_source(clean, source), symbols=["AAPL", "MSFT"], **{"from": "2024-01-02", "to": "2024-01-31"}
        )
    finally:
        await source.aclose()
    assert status.state == "failed"
    assert "Unknown API Key" in (status.error or "")
    assert "not-the-key" not in (status.error or "")
    assert (await clean.services.catalog.all(), await stored(clean, "KEEP")) == before
    assert await stored(clean, "AAPL") == 0


async def test_unknown_ticker_is_an_empty_dataset_with_a_message(fast: Services, clean: Runtime, polygon):
    polygon.add_bars("AAPL", 1, "day", day_bars(dt.date(2024, 1, 2), dt.date(2024, 1, 31)))
    status = await run_job(fast, symbols=["AAPL", "NOSUCH"], **{"from": "2024-01-02", "to": "2024-01-31"})
    assert status.state == "complete"
    assert status.message == "stored 22 bars for 2 of 2 symbols; no bars in range for NOSUCH"
    datasets = {d.symbol: d.total_records for d in await clean.services.catalog.all()}
    assert datasets == {"AAPL": 22, "NOSUCH": 0}


async def test_bad_requests_are_refused_with_the_reason(client, clean: Runtime):
    tomorrow = dt.datetime.now(NEW_YORK).date() + dt.timedelta(days=2)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"market": True, "symbols": ["AAPL"]}, "not both"),
        ({"market": True, "timespan": "minute"}, "daily bars"),
        ({"symbols": []}, "at least one symbol"),
        ({"symbols": ["AAPL"], "from": str(tomorrow), "to": str(tomorrow)}, "future"),
        ({"symbols": ["AAPL"], "from": "1969-12-31"}, "1970-01-01"),
        ({"symbols": ["AAPL"], "timespan": "fortnight"}, "fortnight"),
        ({"symbols": ["AAPL"], "from": "2024-02-30"}, "date"),
        ({"symbols": ["AAPL"], "source": "synthetic", "timespan": "second"}, "second"),
        ({"symbols": ["AAPL"], "source": "synthetic", "from": "1990-01-02"}, "2000-01-03"),
        ({"market": True, "source": "synthetic"}, "whole-market"),
    ]
    for change, reason in cases:
        body = {"from": "2024-01-02", "to": "2024-01-31", **change}
        answer = await client.post("/api/v1/stocks/fetch", json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert reason in answer.json()["detail"], (body, answer.json())
    assert (await client.get("/api/v1/stocks/tables")).json() == []


# -- cancellation and recovery ------------------------------------------------------------------


async def test_cancel_stops_a_running_fetch_keeps_its_bars_and_is_announced(
    clean: Runtime, polygon, admin_key
):
    bars = minute_bars(JAN, APR)
    for symbol in ("AAA", "BBB"):
        polygon.add_bars(symbol, 1, "minute", bars)
    first = plan_windows(
        SeriesRequest(key=SeriesKey(symbol="AAA", multiplier=1, timespan="minute"), start=JAN, end=APR)
    )
    # Only AAA's first window answers at once; every other would take 5 s.
    polygon.inject(Fault.slow(5), times=None, path_contains="/BBB/")
    for later_first, _ in first[1:]:
        polygon.inject(Fault.slow(5), times=None, path_contains=f"/AAA/range/1/minute/{later_first}/")
    pubsub = clean.stack.redis.pubsub()
    await pubsub.subscribe("k2q:events")
    users = {}
    for name, role in (("ana2", "analyst"), ("vic2", "viewer")):
        if await clean.auth.users.by_name(name) is None:
            await clean.auth.users.create(name, None, role)
        users[name] = (await clean.auth.create_key(name, "t", None, None)).key
    async with app_client(clean, admin_key) as admin:
        accepted = (
            await admin.post(
                "/api/v1/stocks/fetch",
                json={"symbols": ["AAA", "BBB"], "timespan": "minute", "from": str(JAN), "to": str(APR)},
            )
        ).json()
        worker = asyncio.create_task(drain_jobs(clean))
        while (await admin.get(accepted["status_url"])).json()["symbols"][0]["windows_done"] < 1:
            await asyncio.sleep(0.05)
        job_id = accepted["job_id"]
        async with app_client(clean, users["vic2"]) as viewer:
            assert (await viewer.post(f"/api/v1/jobs/{job_id}/cancel")).status_code == 403
        async with app_client(clean, users["ana2"]) as other:
            assert (await other.post(f"/api/v1/jobs/{job_id}/cancel")).status_code == 404
        answer = await admin.post(f"/api/v1/jobs/{job_id}/cancel")
        assert answer.status_code == 202, answer.text
        assert answer.json()["state"] == "cancelled"
        assert answer.json()["job_id"] == job_id
        await worker
        status = (await admin.get(accepted["status_url"])).json()
        again = await admin.post(f"/api/v1/jobs/{job_id}/cancel")
        assert again.status_code == 409
        assert "cancelled" in again.json()["detail"]
    assert status["state"] == "cancelled"
    assert status["message"].startswith("cancelled; stored")
    aaa, bbb = status["symbols"]
    assert (aaa["windows_done"], bbb["windows_done"]) == (1, 0)
    # The first window's bars stay; the slow windows were never waited for.
    assert await stored(clean, "AAA") == aaa["bars"] == int(np.sum(bars["t"] < ny_ms(first[1][0])))
    assert await stored(clean, "BBB") == 0
    assert [d.symbol for d in await clean.services.catalog.all()] == ["AAA"]
    events, quiet = [], 0
    while quiet < 3:  # everything published so far (None also stands for a subscribe confirmation)
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
        quiet = 0 if message is not None else quiet + 1
        if message is not None:
            events.append(msgspec.json.decode(message["data"]))
    await pubsub.aclose()  # type: ignore[no-untyped-call]
    mine = [event for event in events if event["job_id"] == job_id]
    assert mine[-1]["state"] == "cancelled"
    assert mine[-1]["symbols"][0]["windows_done"] == 1


async def test_an_orphaned_running_job_is_queued_again_and_resumes(fast: Services, clean: Runtime, polygon):
    bars = minute_bars(JAN, APR)
    polygon.add_bars("AAA", 1, "minute", bars)
    windows = plan_windows(
        SeriesRequest(key=SeriesKey(symbol="AAA", multiplier=1, timespan="minute"), start=JAN, end=APR)
    )
    for later_first, _ in windows[1:]:
        polygon.inject(Fault.truncated(), times=None, path_contains=f"/AAA/range/1/minute/{later_first}/")
    body = {"symbols": ["AAA"], "timespan": "minute", "from": str(JAN), "to": str(APR)}
    first = await run_job(fast, **body)
    assert (first.state, first.symbols[0].windows_done) == ("failed", 1)
    # As if its worker had died after checkpointing one window: running, with an old heartbeat.
    async with clean.stack.pool.connection() as conn:
        await conn.execute(
            "UPDATE jobs SET state = 'running', heartbeat_at = '2000-01-01T00:00:00Z' WHERE id = %s",
            (first.job_id,),
        )
    polygon.clear_faults()
    polygon.requests.clear()

    await drain_jobs(clean)  # the worker queues it again at start-up, then runs it

    status = await clean.services.jobs.get(first.job_id)
    assert status.state == "complete", status.error
    assert requested_windows(polygon, "AAA") == [f"{a}/{b}" for a, b in windows[1:]]
    assert status.symbols[0].windows_done == 3
    assert status.symbols[0].bars == len(bars["t"])
    assert await stored(clean, "AAA") == len(bars["t"])
