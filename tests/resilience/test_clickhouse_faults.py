"""ClickHouse failing or slow under the real write and read paths.

* An insert refused part-way by ClickHouse itself (``TOO_MANY_PARTS``: merges lagging behind
  inserts) is retried once merges catch up, and every bar is stored once; the catalog shows nothing
  of the fetch until it has succeeded.
* A slow bar store (ClickHouse's own read throttle, ``max_local_read_bandwidth``) under many
  concurrent chart requests: each is answered in bounded time with 200, 503 or 504, and nothing
  piles up afterwards.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import time
from typing import Any

import httpx
import pytest
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import Error as DriverError

from api.deadline import REQUEST_DEADLINE_S
from api.runtime import Runtime
from pipelines.charts.slices import ChartSlices
from pipelines.datasets import DatasetService
from pipelines.ingest.sources.synthetic import generate_bars
from pipelines.work_pool import WorkPool
from schemas.bars import SeriesKey
from tests.conftest import drain_jobs
from tests.data import store_minute_dataset
from tests.process import serve_app
from warehouse.clickhouse.bars import BarStore
from warehouse.clickhouse.insert_retries import insert_retrying
from warehouse.errors import Unavailable

SYMBOL = "FLT"
FETCH = {
    "symbols": [SYMBOL],
    "timespan": "minute",
    "multiplier": 5,
    "from": "2020-12-29",
    "to": "2021-01-04",
    "source": "synthetic",
}
"""Five-minute bars across a new year: the insert is two blocks, one per year's partition."""
WAIT_S = 60.0


def limit_parts(parts: int) -> str:
    """Refuse inserts (``TOO_MANY_PARTS``) once a partition of the bar table holds ``parts`` parts."""
    return f"ALTER TABLE bars MODIFY SETTING parts_to_throw_insert = {parts}, parts_to_delay_insert = {parts}"


def _command(client: Client, sql: str) -> Any:
    return client.command(sql)


async def sql(runtime: Runtime, text: str) -> Any:
    return await runtime.stack.clickhouse.run(functools.partial(_command, sql=text))


async def years_stored(runtime: Runtime) -> tuple[int, int]:
    """Rows of ``SYMBOL`` stored in 2020 and in 2021, every copy counted (no FINAL)."""
    text = await sql(
        runtime,
        "SELECT concat(toString(countIf(toYear(ts) = 2020)), ',', toString(countIf(toYear(ts) = 2021)))"
        f" FROM bars WHERE symbol = '{SYMBOL}'",
    )
    first, second = str(text).split(",")
    return int(first), int(second)


async def test_an_insert_refused_mid_batch_is_retried_and_stores_each_bar_once(
    client: httpx.AsyncClient, clean: Runtime
) -> None:
    ref = SeriesKey(symbol=SYMBOL, multiplier=5, timespan="minute")
    expected = generate_bars(ref, dt.date(2020, 12, 29), dt.date(2021, 1, 4))
    version_before = await clean.services.versions.get(ref)
    await sql(clean, "SYSTEM STOP MERGES bars")
    try:
        # Partition 2020 gets two parts (another symbol's, written apart); three are refused. The
        # fetch's 2020 block makes the third, so ClickHouse refuses its 2021 block: mid-batch.
        other = SeriesKey(symbol="PRE", multiplier=5, timespan="minute")
        for day in (dt.date(2020, 6, 1), dt.date(2020, 6, 2)):
            await clean.services.bars.insert(other, "synthetic", generate_bars(other, day, day))
        await sql(clean, limit_parts(3))

        accepted = await client.post("/api/v1/stocks/fetch", json=FETCH)
        assert accepted.status_code == 202, accepted.text
        job = asyncio.create_task(drain_jobs(clean))
        deadline = time.monotonic() + WAIT_S
        while (await years_stored(clean))[0] == 0:
            assert not job.done(), "the fetch ended before its first try was refused"
            assert time.monotonic() < deadline, "the fetch's 2020 block never arrived"
            await asyncio.sleep(0.02)
        # The first try is over (its block of 2020 stored, 2021 refused); the retry waits for merges.
        assert not job.done()
        assert (await years_stored(clean))[1] == 0
        assert (await client.get("/api/v1/stocks/tables")).json() == []
        assert await clean.services.versions.get(ref) == version_before
        # The refusal passes (as when merges catch up; here the limit is lifted, so merges stay
        # stopped and every copy a retry stored would still be counted below).
        await sql(clean, limit_parts(300))
        await asyncio.wait_for(job, WAIT_S)
        stored = await years_stored(clean)
    finally:
        await sql(clean, "ALTER TABLE bars RESET SETTING parts_to_throw_insert, parts_to_delay_insert")
        await sql(clean, "SYSTEM START MERGES bars")

    status = (await client.get(accepted.json()["status_url"])).json()
    assert status["state"] == "complete", status
    in_2020 = int(sum(1 for ts in expected.column("ts").to_pylist() if ts.year == 2020))
    # Every copy counted, unmerged: the retried 2020 block was dropped by its token, not stored twice.
    assert stored == (in_2020, expected.num_rows - in_2020)
    distinct = await sql(clean, f"SELECT uniqExact(ts) FROM bars WHERE symbol = '{SYMBOL}'")
    assert int(distinct) == expected.num_rows
    tables = (await client.get("/api/v1/stocks/tables")).json()
    assert [(t["symbol"], t["total_records"]) for t in tables] == [(SYMBOL, expected.num_rows)]
    assert await clean.services.versions.get(ref) != version_before


async def test_a_refusal_that_outlasts_the_tries_fails_in_words_and_other_errors_fail_at_once(
    clean: Runtime,
) -> None:
    other = SeriesKey(symbol="PRE", multiplier=5, timespan="minute")
    day = dt.date(2020, 6, 1)
    await clean.services.bars.insert(other, "synthetic", generate_bars(other, day, day))
    tokens: list[str] = []

    def refused(client: Client, token: str) -> None:
        tokens.append(token)
        client.command("INSERT INTO bars (symbol, ts) VALUES ('PRE', '2020-06-03 10:00:00')")

    await sql(clean, "SYSTEM STOP MERGES bars")
    try:
        await sql(clean, limit_parts(1))
        with pytest.raises(Unavailable, match=r"refused the PRE bar 3 times \(Code: 252"):
            await insert_retrying(clean.stack.clickhouse, refused, "the PRE bar", delays=(0.01, 0.01))
    finally:
        await sql(clean, "ALTER TABLE bars RESET SETTING parts_to_throw_insert, parts_to_delay_insert")
        await sql(clean, "SYSTEM START MERGES bars")
    assert len(tokens) == 3
    assert len(set(tokens)) == 1  # one token for every try of one insert

    def broken(client: Client, token: str) -> None:
        tokens.append(token)
        client.command("INSERT INTO bars (symbol, ts) SELECT 'PRE', throwIf(1, 'a bad value')")

    tokens.clear()
    with pytest.raises(DriverError, match="a bad value"):
        await insert_retrying(clean.stack.clickhouse, broken, "a bad bar", delays=(0.01, 0.01))
    assert len(tokens) == 1  # not worth another try


SLOW = "SLOW"
SLOW_START, SLOW_END = dt.date(2024, 1, 2), dt.date(2024, 1, 31)
READ_BYTES_PER_S = 64_000
"""ClickHouse's own read throttle for the slow store: a month of minutes takes many seconds to read."""
BUDGET_S = 0.5
STORM = 24


def slow_store(runtime: Runtime, work: WorkPool) -> Runtime:
    """``runtime`` whose bar reads stop after :data:`BUDGET_S`, charted through ``work``, no hot cache."""
    services = runtime.services
    bars = BarStore(runtime.stack.clickhouse, time_budget_s=BUDGET_S)
    charts = ChartSlices(
        services.catalog, bars, services.versions, services.charts.joins, work=work, hot_cache_bytes=0
    )
    tight = dataclasses.replace(
        services,
        bars=bars,
        work=work,
        datasets=DatasetService(services.catalog, bars, services.versions),
        charts=charts,
    )
    return dataclasses.replace(runtime, services=tight)


def _set_read_limit(client: Client, limit: int) -> None:
    client.set_client_setting("max_local_read_bandwidth", str(limit))  # 0: unlimited


def _queued(runtime: Runtime) -> int:
    """Calls waiting for the store's one thread (chDB runs one query at a time)."""
    return runtime.stack.clickhouse._executor._work_queue.qsize()


async def test_a_slow_store_under_a_storm_of_charts_answers_each_in_bounded_time(
    clean: Runtime, admin_key: str
) -> None:
    ref = SeriesKey(symbol=SLOW, multiplier=1, timespan="minute")
    await store_minute_dataset(
        clean.services, "slow_1minute", SLOW, generate_bars(ref, SLOW_START, SLOW_END), SLOW_START, SLOW_END
    )
    work = WorkPool(slots=2, queue=2)
    runtime = slow_store(clean, work)
    headers = {"Authorization": f"Bearer {admin_key}"}
    statuses: list[int] = []
    try:
        async with (
            serve_app(runtime) as address,
            httpx.AsyncClient(
                base_url=f"http://{address}", headers=headers, timeout=REQUEST_DEADLINE_S + 10
            ) as http,
        ):
            warm = await http.post("/api/v1/stocks/chart-data", json={"symbol": SLOW, "max_points": 300})
            assert warm.status_code == 200, warm.text
            tasks_before = len(asyncio.all_tasks())
            await clean.stack.clickhouse.run(functools.partial(_set_read_limit, limit=READ_BYTES_PER_S))

            async def chart(index: int) -> httpx.Response:
                # No two alike (no cache answers them): windows of eleven days to the whole month.
                day = SLOW_START + dt.timedelta(days=index % 20)
                body = {
                    "symbol": SLOW,
                    "timeframe": "1m",
                    "from": day.isoformat(),
                    "max_points": 5_000 - index,
                }
                return await http.post("/api/v1/stocks/chart-data", json=body)

            storm = asyncio.gather(*(chart(index) for index in range(STORM)))
            queued, health = 0, []
            while not storm.done():
                queued = max(queued, _queued(clean))
                health.append((await http.get("/health")).status_code)
                await asyncio.sleep(0.05)
            answers = await storm
            statuses = [answer.status_code for answer in answers]

            await clean.stack.clickhouse.run(functools.partial(_set_read_limit, limit=0))
            after = await http.post("/api/v1/stocks/chart-data", json={"symbol": SLOW, "max_points": 1_234})
            assert after.status_code == 200, after.text
            deadline = time.monotonic() + 5
            while len(asyncio.all_tasks()) > tasks_before and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert len(asyncio.all_tasks()) <= tasks_before
    finally:
        await clean.stack.clickhouse.run(functools.partial(_set_read_limit, limit=0))
        work.close()

    assert set(statuses) <= {200, 503, 504}, statuses
    assert 503 in statuses, statuses  # refused at once past the two running and two waiting
    assert 504 in statuses, statuses  # stopped at the store's time budget
    for answer in answers:
        if answer.status_code == 503:
            assert answer.headers["retry-after"] == "1"
            assert "busy" in answer.json()["detail"]
        elif answer.status_code == 504:
            assert answer.headers["content-type"] == "application/problem+json"
            assert "time budget" in answer.json()["detail"]
    assert health
    assert set(health) == {200}  # the event loop kept answering throughout
    assert queued <= work.slots  # the store's queue never held more than the admitted requests' calls
    assert work.waiting == 0
