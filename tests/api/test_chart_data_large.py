"""chart-data over a million minute bars agrees with buckets computed independently in Polars."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from api.runtime import Runtime
from pipelines.ingest.sources.synthetic import generate_bars
from schemas.bars import SeriesKey
from tests.conftest import app_client
from tests.data import store_minute_dataset
from warehouse.clickhouse.buckets import LADDER

SYMBOL = "MILL"
NY = "America/New_York"


@pytest.fixture(scope="module")
async def million(runtime: Runtime) -> AsyncIterator[pa.Table]:
    """≥ 1M synthetic minute bars stored as one dataset, plus a re-insert of a fifth of them."""
    start, end = dt.date(2016, 1, 1), dt.date(2024, 12, 31)
    bars = generate_bars(SeriesKey(symbol=SYMBOL, multiplier=1, timespan="minute"), start, end)
    assert bars.num_rows >= 1_000_000
    await store_minute_dataset(runtime.services, "mill_1minute", SYMBOL, bars, start, end)
    ref = SeriesKey.of(symbol=SYMBOL, series="1m", adjusted=True)
    await runtime.services.bars.insert(
        ref, "synthetic", bars.slice(0, bars.num_rows // 5)
    )  # duplicates: FINAL folds them
    yield bars
    await runtime.services.datasets.delete("mill_1minute")


@pytest.fixture
async def http(runtime: Runtime, admin_key: str) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(runtime, admin_key) as client:
        yield client


async def chart(http: httpx.AsyncClient, **body: object) -> tuple[pl.DataFrame, str]:
    answer = await http.post("/api/v1/stocks/chart-data", json={"symbol": SYMBOL, **body})
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-k2q-truncated"] == "false"
    return pl.from_arrow(pa.ipc.open_stream(answer.content).read_all()), answer.headers["x-k2q-bucket"]  # type: ignore[return-value]


def reference(bars: pa.Table, every: str, start: dt.datetime, end: dt.datetime) -> pl.DataFrame:
    """OHLCV buckets in New York local time, computed from the raw rows with Polars alone."""
    frame = pl.from_arrow(bars).filter(pl.col("ts").is_between(start, end))
    assert isinstance(frame, pl.DataFrame)
    local = pl.col("ts").dt.convert_time_zone(NY).dt.replace_time_zone(None)
    polars_every = {"1M": "1mo", "3M": "3mo", "12M": "1y"}
    bucket = local.dt.truncate(polars_every.get(every, every))
    return (
        frame.sort("ts")
        .group_by(bucket.alias("bucket"), maintain_order=True)
        .agg(
            pl.col("open").first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").last(),
            pl.col("volume").sum(),
        )
        .with_columns(
            pl.col("bucket")
            .dt.replace_time_zone(NY)
            .dt.convert_time_zone("UTC")
            .dt.cast_time_unit("ms")
            .alias("ts")
        )
        .select("ts", "open", "high", "low", "close", "volume")
    )


def assert_same(got: pl.DataFrame, want: pl.DataFrame) -> None:
    assert got.height == want.height
    assert got["ts"].to_list() == want["ts"].to_list()
    for column in ("open", "high", "low", "close", "volume"):
        np.testing.assert_allclose(
            got[column].to_numpy(), want[column].to_numpy(), rtol=1e-12, err_msg=column
        )


@pytest.mark.slow
async def test_whole_history_fits_the_budget_and_matches_polars(million, http):
    got, bucket = await chart(http, timeframe="1m", max_points=2000)
    assert got.height <= 2000
    assert bucket == "1w"  # 1m … 1d would need more than 2000 buckets over nine years
    start, end = million.column("ts")[0].as_py(), million.column("ts")[-1].as_py()
    assert_same(got, reference(million, bucket, start, end))


@pytest.mark.slow
@pytest.mark.parametrize(("days", "max_points"), [(30, 2000), (90, 1500), (365, 600), (3, 100)])
async def test_windows_pick_the_narrowest_bucket_that_fits(million, http, days, max_points):
    start = dt.datetime(2022, 3, 1, tzinfo=dt.UTC)
    end = start + dt.timedelta(days=days)
    got, bucket = await chart(
        http, timeframe="1m", max_points=max_points, **{"from": start.isoformat(), "to": end.isoformat()}
    )
    assert got.height <= max_points
    fitting = [code for code in LADDER if reference(million, code, start, end).height <= max_points]
    assert bucket == fitting[0]
    assert_same(got, reference(million, bucket, start, end))


@pytest.mark.slow
async def test_small_window_comes_back_at_full_resolution(million, http):
    start = dt.datetime(2023, 5, 10, tzinfo=dt.UTC)
    end = dt.datetime(2023, 5, 11, 23, 59, tzinfo=dt.UTC)
    got, bucket = await chart(
        http, timeframe="1m", max_points=2000, **{"from": int(start.timestamp() * 1000), "to": "2023-05-11"}
    )
    assert bucket == "1m"
    raw = pl.from_arrow(million).filter(pl.col("ts").is_between(start, end))
    assert isinstance(raw, pl.DataFrame)
    assert 0 < got.height == raw.height <= 2000
    assert_same(got, raw.select("ts", "open", "high", "low", "close", "volume"))


@pytest.mark.slow
async def test_daily_timeframe_over_minutes_follows_new_york_days(million, http):
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(2020, 12, 31, tzinfo=dt.UTC)
    got, bucket = await chart(http, timeframe="1d", **{"from": start.isoformat(), "to": end.isoformat()})
    assert bucket == "1d"
    assert got.height == 253  # NYSE trading days in 2020
    assert_same(got, reference(million, "1d", start, end))
