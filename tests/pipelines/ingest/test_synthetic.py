"""Tests of the deterministic synthetic bar source and its NYSE calendar."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.errors import UnsupportedRequest
from pipelines.exchange_calendar import is_trading_day, nyse_holidays, trading_days
from pipelines.ingest.sources.base import BarSource
from pipelines.ingest.sources.synthetic import EPOCH, SyntheticSource, generate_bars
from schemas.bars import BAR_ARROW_SCHEMA, SeriesKey, SeriesRequest
from schemas.values import Timespan

NY = ZoneInfo("America/New_York")
UTC = dt.UTC
Bar = tuple[int, float, float, float, float, float, float, int]
"""``(ts_ms, open, high, low, close, volume, vwap, transactions)``."""


def key(timespan: Timespan = "minute", multiplier: int = 1, symbol: str = "DEMO") -> SeriesKey:
    return SeriesKey(symbol=symbol, multiplier=multiplier, timespan=timespan)


def rows(table: pa.Table) -> list[Bar]:
    """Bars as tuples with ``ts`` in epoch ms."""
    columns = [table.column("ts").cast(pa.int64()).to_pylist()]
    columns += [table.column(name).to_pylist() for name in BAR_ARROW_SCHEMA.names[1:]]
    return list(zip(*columns, strict=True))


def ny(ts_ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts_ms / 1000, UTC).astimezone(NY)


def naive_aggregate(bars: list[Bar], bucket_of) -> list[Bar]:
    """Obviously correct OHLCV aggregation: group consecutive bars by ``bucket_of(ts)``."""
    groups: dict[int, list[Bar]] = defaultdict(list)
    for bar in bars:
        groups[bucket_of(bar[0])].append(bar)
    out = []
    for bucket, group in sorted(groups.items()):
        volume = sum(b[5] for b in group)
        out.append(
            (
                bucket,
                group[0][1],
                max(b[2] for b in group),
                min(b[3] for b in group),
                group[-1][4],
                volume,
                sum(b[6] * b[5] for b in group) / volume,
                sum(b[7] for b in group),
            )
        )
    return out


def assert_same_bars(actual: list[Bar], expected: list[Bar], vwap_abs: float = 1.5e-4) -> None:
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected, strict=True):
        assert got[:6] == want[:6]
        assert got[6] == pytest.approx(want[6], abs=vwap_abs)
        assert got[7] == want[7]


# --- determinism ------------------------------------------------------------------------------

WHOLE = (dt.date(2023, 12, 20), dt.date(2024, 2, 9))


@settings(max_examples=15, deadline=None)
@given(
    symbol=st.sampled_from(["DEMO", "AAPL", "BRK.A", "X:BTCUSD"]),
    timespan=st.sampled_from(["minute", "day", "week", "month"]),
    cuts=st.lists(st.integers(1, (WHOLE[1] - WHOLE[0]).days), max_size=4, unique=True),
)
def test_sub_ranges_concatenate_to_the_whole(symbol: str, timespan: Timespan, cuts: list[int]) -> None:
    series = key(timespan, symbol=symbol)
    whole = generate_bars(series, *WHOLE)
    bounds = [WHOLE[0] + dt.timedelta(days=c) for c in sorted(cuts)]
    starts = [WHOLE[0], *bounds]
    ends = [b - dt.timedelta(days=1) for b in bounds] + [WHOLE[1]]
    parts = [generate_bars(series, s, e) for s, e in zip(starts, ends, strict=True)]
    assert pa.concat_tables(parts).equals(whole)


def test_adjusted_makes_no_difference() -> None:
    adjusted = generate_bars(key("minute"), dt.date(2024, 5, 1), dt.date(2024, 5, 2))
    raw_key = SeriesKey(symbol="DEMO", multiplier=1, timespan="minute", adjusted=False)
    raw = generate_bars(raw_key, dt.date(2024, 5, 1), dt.date(2024, 5, 2))
    assert raw.equals(adjusted)


SNAPSHOT_MINUTES = [  # DEMO on 2024-03-15: 04:00, 09:30 and 19:59 New York time
    (1710489600000, 13.64, 13.64, 13.63, 13.63, 287.0, 13.6358, 1),
    (1710509400000, 13.64, 13.67, 13.64, 13.67, 115833.0, 13.6529, 591),
    (1710547140000, 13.82, 13.82, 13.81, 13.82, 2194.0, 13.8169, 15),
]
SNAPSHOT_DAY = (1710475200000, 13.64, 14.08, 13.6, 13.82, 28670238.0, 13.8471, 161987)


def test_snapshot_of_one_day_is_stable() -> None:
    """A change to the generator changes these numbers: bump them only on purpose."""
    day = dt.date(2024, 3, 15)
    minutes = rows(generate_bars(key("minute"), day, day))
    assert len(minutes) == 565
    by_ts = {bar[0]: bar for bar in minutes}
    assert [by_ts[bar[0]] for bar in SNAPSHOT_MINUTES] == SNAPSHOT_MINUTES
    assert rows(generate_bars(key("day"), day, day)) == [SNAPSHOT_DAY]


def _digest(table: pa.Table) -> str:
    return hashlib.sha256(repr(rows(table)).encode()).hexdigest()


def test_same_bars_in_other_processes_with_other_hash_seeds() -> None:
    series, start, end = key("minute", 5, "ZZZ"), dt.date(2021, 6, 1), dt.date(2021, 6, 4)
    code = (
        "import datetime as d, sys;"
        "from tests.pipelines.ingest.test_synthetic import _digest, generate_bars, key;"
        "print(_digest(generate_bars(key('minute', 5, 'ZZZ'), d.date(2021, 6, 1), d.date(2021, 6, 4))))"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": seed, "PYTHONDONTWRITEBYTECODE": "1"},
            cwd=Path(__file__).resolve().parents[3],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert digests == {_digest(generate_bars(series, start, end))}


# --- bar shape --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timespan", "multiplier", "start", "end"),
    [
        ("minute", 1, dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
        ("minute", 15, dt.date(2023, 3, 1), dt.date(2023, 3, 31)),
        ("day", 1, EPOCH, dt.date(2024, 12, 31)),
        ("week", 1, EPOCH, dt.date(2024, 12, 31)),
    ],
)
@pytest.mark.parametrize("symbol", ["DEMO", "TSLA", "Q"])
def test_ohlc_invariants(
    symbol: str, timespan: Timespan, multiplier: int, start: dt.date, end: dt.date
) -> None:
    table = generate_bars(key(timespan, multiplier, symbol), start, end)
    assert table.schema == BAR_ARROW_SCHEMA
    assert table.num_rows > 0
    ts = table.column("ts").cast(pa.int64()).to_numpy()
    o, h, lo, c, v, vw = (
        table.column(n).to_numpy() for n in ("open", "high", "low", "close", "volume", "vwap")
    )
    tx = table.column("transactions").to_numpy()
    assert np.all(np.diff(ts) > 0)
    assert np.all(lo > 0)
    assert np.all(lo <= np.minimum(o, c))
    assert np.all(np.maximum(o, c) <= h)
    assert np.all((lo <= vw) & (vw <= h))
    assert np.all(v > 0)
    assert np.all((tx >= 1) & (tx <= v))
    assert table.column("vwap").null_count == 0
    assert table.column("transactions").null_count == 0


def test_prices_look_like_a_stock() -> None:
    closes = generate_bars(key("day", symbol="ACME"), EPOCH, dt.date(2024, 12, 31)).column("close").to_numpy()
    assert 10 <= closes[0] <= 500
    daily_vol = np.std(np.diff(np.log(closes)))
    assert 0.012 < daily_vol < 0.03


def test_no_bars_on_weekends_or_holidays_and_only_in_session_hours() -> None:
    days = [
        ny(ts).date()
        for ts in generate_bars(key("day"), dt.date(2024, 1, 1), dt.date(2024, 12, 31))
        .column("ts")
        .cast(pa.int64())
        .to_pylist()
    ]
    assert len(days) == 252
    for holiday in (dt.date(2024, 7, 4), dt.date(2024, 11, 28), dt.date(2024, 3, 29), dt.date(2024, 1, 1)):
        assert holiday not in days
    assert all(d.weekday() < 5 for d in days)

    minutes = generate_bars(key("minute"), dt.date(2024, 3, 25), dt.date(2024, 4, 7))
    local = [ny(ts) for ts in minutes.column("ts").cast(pa.int64()).to_pylist()]
    assert {t.date() for t in local} == {
        d for d in trading_days(dt.date(2024, 3, 25), dt.date(2024, 4, 7)).tolist()
    }
    assert dt.date(2024, 3, 29) not in {t.date() for t in local}
    assert all(dt.time(4) <= t.time() < dt.time(20) for t in local)
    assert generate_bars(key("minute"), dt.date(2024, 7, 4), dt.date(2024, 7, 4)).num_rows == 0


def test_extended_hours_have_gaps_regular_hours_nearly_none() -> None:
    local = [
        ny(ts)
        for ts in generate_bars(key("minute"), dt.date(2024, 5, 6), dt.date(2024, 5, 10))
        .column("ts")
        .cast(pa.int64())
        .to_pylist()
    ]
    regular = sum(dt.time(9, 30) <= t.time() < dt.time(16) for t in local)
    extended = len(local) - regular
    assert regular >= 0.99 * 5 * 390
    assert 0 < extended < 0.9 * 5 * 570


@pytest.mark.parametrize(
    ("day", "first_utc_hour", "day_bar_utc_hour"),
    [
        (dt.date(2024, 7, 1), 8, 4),  # EDT: 04:00 New York is 08:00 UTC
        (dt.date(2024, 1, 2), 9, 5),  # EST
        (dt.date(2024, 3, 8), 9, 5),  # the Friday before clocks spring forward
        (dt.date(2024, 3, 11), 8, 4),  # the Monday after
        (dt.date(2024, 11, 1), 8, 4),  # the Friday before clocks fall back
        (dt.date(2024, 11, 4), 9, 5),
    ],
)
def test_dst(day: dt.date, first_utc_hour: int, day_bar_utc_hour: int) -> None:
    minutes = rows(generate_bars(key("minute"), day, day))
    assert minutes[0][0] == int(dt.datetime.combine(day, dt.time(first_utc_hour), UTC).timestamp() * 1000)
    last_local = ny(minutes[-1][0])
    assert (last_local.date(), last_local.time()) == (day, dt.time(19, 59))
    (bar,) = rows(generate_bars(key("day"), day, day))
    assert bar[0] == int(dt.datetime.combine(day, dt.time(day_bar_utc_hour), UTC).timestamp() * 1000)


# --- aggregation ------------------------------------------------------------------------------


def test_day_bars_equal_their_minutes_aggregated() -> None:
    start, end = dt.date(2024, 3, 1), dt.date(2024, 3, 20)  # spans the switch to daylight time
    minutes = rows(generate_bars(key("minute"), start, end))

    def ny_midnight(ts: int) -> int:
        local = dt.datetime.combine(ny(ts).date(), dt.time(), NY)
        return int(local.timestamp() * 1000)

    expected = naive_aggregate(minutes, ny_midnight)
    assert_same_bars(rows(generate_bars(key("day"), start, end)), expected)


@settings(max_examples=12, deadline=None)
@given(
    unit=st.sampled_from(["minute", "hour"]),
    multiplier=st.integers(1, 240),
    symbol=st.sampled_from(["DEMO", "MSFT"]),
)
def test_intraday_buckets_match_a_naive_reference(unit: Timespan, multiplier: int, symbol: str) -> None:
    start, end = dt.date(2024, 11, 1), dt.date(2024, 11, 5)  # spans the switch back to standard time
    if unit == "hour":
        multiplier = 1 + multiplier % 8
    minutes = rows(generate_bars(key("minute", 1, symbol), start, end))
    width = multiplier * (60 if unit == "hour" else 1)

    def bucket(ts: int) -> int:
        local = ny(ts)
        since_midnight = local.hour * 60 + local.minute
        start_local = dt.datetime.combine(local.date(), dt.time(), NY) + dt.timedelta(
            minutes=since_midnight // width * width
        )
        return int(start_local.timestamp() * 1000)

    actual = rows(generate_bars(key(unit, multiplier, symbol), start, end))
    assert_same_bars(actual, naive_aggregate(minutes, bucket))


def _week(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


@pytest.mark.parametrize(
    ("timespan", "bucket_of"),
    [
        ("week", _week),
        ("month", lambda d: d.replace(day=1)),
        ("quarter", lambda d: dt.date(d.year, (d.month - 1) // 3 * 3 + 1, 1)),
        ("year", lambda d: dt.date(d.year, 1, 1)),
    ],
)
def test_wide_bars_aggregate_day_bars(timespan: Timespan, bucket_of) -> None:
    start, end = dt.date(2022, 1, 1), dt.date(2023, 12, 31)
    days = rows(generate_bars(key("day"), start, end))

    def bucket(ts: int) -> int:
        return int(dt.datetime.combine(bucket_of(ny(ts).date()), dt.time(), NY).timestamp() * 1000)

    assert_same_bars(rows(generate_bars(key(timespan), start, end)), naive_aggregate(days, bucket))


def test_a_wide_bar_belongs_to_the_range_holding_its_first_trading_day() -> None:
    weeks = rows(generate_bars(key("week"), dt.date(2024, 1, 3), dt.date(2024, 1, 10)))
    assert [ny(w[0]) for w in weeks] == [dt.datetime(2024, 1, 8, tzinfo=NY)]
    full = rows(generate_bars(key("week"), dt.date(2024, 1, 8), dt.date(2024, 1, 12)))
    assert weeks == full  # the whole week, even past the requested end
    # MLK day: the week of 2024-01-15 starts trading on Tuesday, but is stamped Monday 00:00.
    (mlk,) = rows(generate_bars(key("week"), dt.date(2024, 1, 16), dt.date(2024, 1, 16)))
    assert ny(mlk[0]) == dt.datetime(2024, 1, 15, tzinfo=NY)
    january_2000 = rows(generate_bars(key("month"), EPOCH, dt.date(2000, 1, 31)))
    assert [ny(m[0]).date() for m in january_2000] == [dt.date(2000, 1, 1)]


def test_volume_smile() -> None:
    table = generate_bars(key("minute"), dt.date(2024, 4, 1), dt.date(2024, 4, 30))
    local = [ny(ts).time() for ts in table.column("ts").cast(pa.int64()).to_pylist()]
    volume = table.column("volume").to_numpy()

    def mean(lo: dt.time, hi: dt.time) -> float:
        return float(np.mean([v for t, v in zip(local, volume, strict=True) if lo <= t < hi]))

    opening = mean(dt.time(9, 30), dt.time(10))
    closing = mean(dt.time(15, 30), dt.time(16))
    midday = mean(dt.time(12), dt.time(13, 30))
    premarket = mean(dt.time(4), dt.time(9, 30))
    assert min(opening, closing) > 1.5 * midday
    assert midday > 5 * premarket


def test_until_drops_bars_starting_at_or_after_it() -> None:
    day = dt.date(2024, 6, 12)
    until = dt.datetime(2024, 6, 12, 11, 17, tzinfo=NY)
    until_ms = int(until.timestamp() * 1000)
    minutes = rows(generate_bars(key("minute"), day, day, until=until))
    assert minutes
    assert max(m[0] for m in minutes) < until_ms
    assert minutes == [m for m in rows(generate_bars(key("minute"), day, day)) if m[0] < until_ms]
    (partial,) = rows(generate_bars(key("day"), day, day, until=until))
    assert_same_bars([partial], naive_aggregate(minutes, lambda _ts: partial[0]))
    assert generate_bars(key("day"), day, dt.date(2024, 6, 20), until=until).num_rows == 1
    for timespan in ("minute", "day", "week"):
        assert (
            generate_bars(key(timespan), dt.date(2024, 6, 13), dt.date(2024, 6, 20), until=until).num_rows
            == 0
        )


# --- errors -----------------------------------------------------------------------------------


def test_second_bars_are_unsupported() -> None:
    with pytest.raises(UnsupportedRequest, match="no second bars"):
        generate_bars(key("second"), dt.date(2024, 1, 2), dt.date(2024, 1, 2))


def test_dates_before_the_epoch_are_unsupported() -> None:
    with pytest.raises(UnsupportedRequest, match="2000-01-03"):
        generate_bars(key("day"), dt.date(1999, 12, 1), dt.date(2000, 2, 1))
    assert generate_bars(key("day"), EPOCH, EPOCH).num_rows == 1


# --- the async source -------------------------------------------------------------------------


async def _collect(source: BarSource, request: SeriesRequest, progress=None) -> pa.Table:
    batches = [batch async for batch in source.fetch(request, progress)]
    return pa.Table.from_batches(batches, schema=BAR_ARROW_SCHEMA)


def test_fetch_yields_what_generate_bars_does_with_progress() -> None:
    now = dt.datetime(2024, 3, 15, 12, 0, tzinfo=NY)
    source = SyntheticSource(now=lambda: now)
    assert source.name == "synthetic"
    request = SeriesRequest(key=key("minute", 5), start=dt.date(2024, 1, 25), end=dt.date(2024, 3, 31))
    calls: list[tuple[int, int, int]] = []
    table = asyncio.run(_collect(source, request, lambda *a: calls.append(a)))
    expected = generate_bars(request.key, request.start, request.end, until=now)
    assert table.equals(expected)
    assert max(table.column("ts").cast(pa.int64()).to_pylist()) < int(now.timestamp() * 1000)
    assert [c[:2] for c in calls] == [(1, 3), (2, 3), (3, 3)]
    assert calls[-1][2] == table.num_rows
    assert calls[0][2] < calls[1][2] < calls[2][2]


def test_fetch_without_a_clock_stops_before_today_in_new_york() -> None:
    today = dt.datetime.now(NY).date()
    request = SeriesRequest(
        key=key("day"), start=today - dt.timedelta(days=10), end=today + dt.timedelta(days=10)
    )
    table = asyncio.run(_collect(SyntheticSource(), request))
    days = [ny(ts).date() for ts in table.column("ts").cast(pa.int64()).to_pylist()]
    assert days == [d for d in trading_days(request.start, today - dt.timedelta(days=1)).tolist()]


def test_fetch_raises_unsupported_for_second_bars() -> None:
    request = SeriesRequest(key=key("second"), start=dt.date(2024, 1, 2), end=dt.date(2024, 1, 2))
    with pytest.raises(UnsupportedRequest):
        asyncio.run(_collect(SyntheticSource(), request))


# --- the calendar -----------------------------------------------------------------------------

NYSE_HOLIDAYS = {
    2021: ["01-01", "01-18", "02-15", "04-02", "05-31", "07-05", "09-06", "11-25", "12-24"],
    2022: ["01-17", "02-21", "04-15", "05-30", "06-20", "07-04", "09-05", "11-24", "12-26"],
    2023: ["01-02", "01-16", "02-20", "04-07", "05-29", "06-19", "07-04", "09-04", "11-23", "12-25"],
    2024: ["01-01", "01-15", "02-19", "03-29", "05-27", "06-19", "07-04", "09-02", "11-28", "12-25"],
    2025: ["01-01", "01-20", "02-17", "04-18", "05-26", "06-19", "07-04", "09-01", "11-27", "12-25"],
    2026: ["01-01", "01-19", "02-16", "04-03", "05-25", "06-19", "07-03", "09-07", "11-26", "12-25"],
}


@pytest.mark.parametrize("year", sorted(NYSE_HOLIDAYS))
def test_nyse_holidays(year: int) -> None:
    assert sorted(nyse_holidays(year)) == [dt.date.fromisoformat(f"{year}-{d}") for d in NYSE_HOLIDAYS[year]]


def test_calendar_edges() -> None:
    assert is_trading_day(dt.date(2021, 12, 31))  # New Year's Day 2022 fell on a Saturday
    assert is_trading_day(dt.date(2021, 6, 18))  # Juneteenth is observed from 2022 only
    assert not is_trading_day(dt.date(2024, 3, 29))  # Good Friday
    assert len(trading_days(dt.date(2024, 1, 1), dt.date(2024, 12, 31))) == 252
    assert trading_days(dt.date(2024, 1, 2), dt.date(2024, 1, 1)).size == 0
    days = trading_days(dt.date(2019, 1, 1), dt.date(2020, 12, 31)).tolist()
    assert days == [
        dt.date(2019, 1, 1) + dt.timedelta(days=i)
        for i in range(731)
        if is_trading_day(dt.date(2019, 1, 1) + dt.timedelta(days=i))
    ]
