"""Data quality against the real stores, on hand-built bar sets whose answers are known."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pytest

from api.runtime import Runtime
from pipelines.errors import UnsupportedRequest
from pipelines.quality.assessor import QualityAssessor
from pipelines.quality.coverage import count_runs, expected_slots, slot_keys
from schemas.bars import BAR_ARROW_SCHEMA, SeriesKey
from schemas.values import Timespan
from tests.data import store_minute_dataset
from warehouse.catalog.datasets import DatasetRecord
from warehouse.catalog.quality import QualityRepository
from warehouse.errors import NotFound

NY = ZoneInfo("America/New_York")


def ny(day: dt.date, hour: int, minute: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), NY).astimezone(dt.UTC)


def session_minutes(
    day: dt.date, open_: tuple[int, int] = (9, 30), close: tuple[int, int] = (16, 0)
) -> list[dt.datetime]:
    first, end = ny(day, *open_), ny(day, *close)
    return [first + dt.timedelta(minutes=i) for i in range(int((end - first).total_seconds() // 60))]


def bars_at(times: list[dt.datetime], **columns: list[float]) -> pa.Table:
    """Well-formed bars at ``times`` (sorted here), with any column overridden."""
    times = sorted(times)
    n = len(times)
    price = 100 + np.arange(n) * 0.01
    data = {
        "ts": pa.array([int(t.timestamp() * 1000) for t in times], pa.timestamp("ms", tz="UTC")),
        "open": columns.get("open", price),
        "high": columns.get("high", price + 0.5),
        "low": columns.get("low", price - 0.5),
        "close": columns.get("close", price + 0.1),
        "volume": columns.get("volume", np.full(n, 1000.0)),
        "vwap": price,
        "transactions": pa.array(np.full(n, 5), pa.uint32()),
    }
    return pa.table(data).cast(BAR_ARROW_SCHEMA)


async def store(
    runtime: Runtime,
    name: str,
    bars: pa.Table,
    start: dt.date,
    end: dt.date,
    timespan: Timespan = "day",
    multiplier: int = 1,
) -> None:
    """Store ``bars`` as a daily-or-wider series and register dataset ``name`` (minute bars: tests.data)."""
    code = {"day": "d", "week": "w", "month": "M"}[timespan]
    ref = SeriesKey.of(symbol=name.upper(), series=f"{multiplier}{code}", adjusted=True)
    await runtime.services.bars.insert(ref, "synthetic", bars)
    await runtime.services.catalog.upsert(
        DatasetRecord(
            table=name,
            symbol=name.upper(),
            timespan=timespan,
            multiplier=multiplier,
            adjusted=True,
            source="synthetic",
            start_date=start,
            end_date=end,
            record_count=bars.num_rows,
            first_bar=None,
            last_bar=None,
        )
    )


def assessor(runtime: Runtime, now: dt.datetime) -> QualityAssessor:
    services = runtime.services
    return QualityAssessor(
        services.catalog, services.bars, QualityRepository(runtime.stack.pool), lambda: now
    )


LATER = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


async def test_real_gaps_extended_hours_and_the_stored_report(clean: Runtime):
    day = dt.date(2024, 3, 5)  # a Tuesday in EST
    regular = session_minutes(day)
    dropped = {regular[15 + i] for i in range(5)} | {regular[330]}  # 09:45-09:49 and 15:00
    premarket = session_minutes(day, (4, 0), (9, 30))[::7]  # sparse, as on Polygon: never expected
    times = [t for t in regular if t not in dropped] + premarket
    await store_minute_dataset(clean.services, "gappy", "GAPPY", bars_at(times), day, day)

    quality = await clean.services.quality.assess("gappy", received=len(times))
    assert quality.basis == "regular_session"
    assert quality.bars == len(times) == 384 + len(premarket)
    assert (quality.expected, quality.present, quality.missing, quality.gaps) == (390, 384, 6, 2)
    assert quality.coverage == pytest.approx(384 / 390)
    biggest, second = quality.largest_gaps
    assert (biggest.start, biggest.end, biggest.missing) == (ny(day, 9, 45), ny(day, 9, 50), 5)
    assert (second.start, second.end, second.missing) == (ny(day, 15, 0), ny(day, 15, 1), 1)
    assert quality.duplicates_dropped == 0
    assert quality.zero_volume_runs == quality.ohlc_violations == 0
    assert quality.window_start == ny(day, 0, 0)

    listed = {d.table: d for d in await clean.services.catalog.all()}
    assert listed["gappy"].quality == quality
    report = await clean.services.quality.report("gappy")
    assert [(g.start, g.missing) for g in report.gaps] == [(ny(day, 9, 45), 5), (ny(day, 15, 0), 1)]
    assert not report.truncated
    window = await clean.services.quality.report("gappy", ny(day, 12, 0), None)
    assert [g.missing for g in window.gaps] == [1]
    capped = await clean.services.quality.report("gappy", limit=1)
    assert [g.missing for g in capped.gaps] == [5]
    assert capped.truncated

    await clean.services.datasets.delete("gappy")
    assert await QualityRepository(clean.stack.pool).get("gappy") is None  # deleted with its dataset


async def test_holidays_and_weekends_are_not_gaps(clean: Runtime):
    thursday, monday = dt.date(2024, 3, 28), dt.date(2024, 4, 1)  # Good Friday between, then a weekend
    times = session_minutes(thursday) + session_minutes(monday)
    await store_minute_dataset(clean.services, "easter", "EASTER", bars_at(times), thursday, monday)
    quality = await clean.services.quality.assess("easter")
    assert (quality.expected, quality.gaps, quality.coverage) == (780, 0, 1.0)

    days = [dt.date(2024, 7, d) for d in (1, 2, 3, 5, 8, 9)]  # no July 4 (a holiday), no weekend
    await store(clean, "july", bars_at([ny(d, 0, 0) for d in days]), dt.date(2024, 7, 1), dt.date(2024, 7, 9))
    quality = await clean.services.quality.assess("july")
    assert (quality.basis, quality.expected, quality.present, quality.gaps) == ("trading_days", 6, 6, 0)

    real = [d for d in days if d.day != 5]  # Friday the 5th is a trading day: a real gap
    await clean.services.bars.delete(
        SeriesKey.of(symbol="JULY", series="1d", adjusted=True),
        ny(dt.date(2024, 7, 5), 0, 0),
        ny(dt.date(2024, 7, 6), 0, 0),
    )
    quality = await clean.services.quality.assess("july")
    assert (quality.expected, quality.present, quality.gaps) == (6, len(real), 1)
    (gap,) = quality.largest_gaps
    assert (gap.start, gap.end, gap.missing) == (
        ny(dt.date(2024, 7, 5), 0, 0),
        ny(dt.date(2024, 7, 6), 0, 0),
        1,
    )


async def test_half_days_expect_the_session_to_one_pm(clean: Runtime):
    friday, eve = dt.date(2024, 11, 29), dt.date(2024, 12, 24)  # the day after Thanksgiving, Christmas Eve
    times = session_minutes(friday, close=(13, 0)) + session_minutes(eve)  # the eve keeps trading to 16:00
    await store_minute_dataset(clean.services, "half", "HALF", bars_at(times), friday, eve)
    quality = await clean.services.quality.assess("half")
    full_days = 16  # the trading days from Dec 2 to Dec 23, without bars
    assert quality.expected == 210 + full_days * 390 + 210
    assert quality.present == 420  # the eve's afternoon bars are stored but not expected
    assert quality.bars == 210 + 390
    assert quality.gaps == 1
    assert quality.missing == full_days * 390
    (gap,) = quality.largest_gaps
    assert (gap.start, gap.end) == (ny(dt.date(2024, 12, 2), 9, 30), ny(dt.date(2024, 12, 23), 16, 0))


async def test_dst_weeks_follow_new_york_time(clean: Runtime):
    friday, monday = dt.date(2024, 3, 8), dt.date(2024, 3, 11)  # clocks went forward on Sunday the 10th
    times = session_minutes(friday) + session_minutes(monday)
    await store_minute_dataset(clean.services, "dst", "DST", bars_at(times), friday, monday)
    quality = await clean.services.quality.assess("dst")
    assert (quality.expected, quality.present, quality.gaps) == (780, 780, 0)

    # Bars stamped as if New York stayed five hours behind UTC miss Monday's first hour.
    est = dt.timezone(dt.timedelta(hours=-5))
    shifted = [
        dt.datetime.combine(d, dt.time(9, 30), est).astimezone(dt.UTC) + dt.timedelta(minutes=i)
        for d in (friday, monday)
        for i in range(390)
    ]
    await store_minute_dataset(clean.services, "dst_fixed", "DSTFIXED", bars_at(shifted), friday, monday)
    quality = await clean.services.quality.assess("dst_fixed")
    assert (quality.present, quality.missing, quality.gaps) == (720, 60, 1)
    (gap,) = quality.largest_gaps
    assert (gap.start, gap.end) == (ny(monday, 9, 30), ny(monday, 10, 30))

    november = [dt.date(2024, 11, 1), dt.date(2024, 11, 4)]  # clocks went back on Sunday the 3rd
    await store_minute_dataset(
        clean.services,
        "fall",
        "FALL",
        bars_at([t for d in november for t in session_minutes(d)]),
        november[0],
        november[1],
    )
    quality = await clean.services.quality.assess("fall")
    assert (quality.expected, quality.present, quality.gaps) == (780, 780, 0)


async def test_duplicates_received_are_counted_once_stored(clean: Runtime):
    day = dt.date(2024, 3, 5)
    bars = bars_at(session_minutes(day))
    ref = SeriesKey.of(symbol="DUP", series="1m", adjusted=True)
    await clean.services.bars.insert(ref, "synthetic", bars)  # a page sent twice, not merged yet
    await store_minute_dataset(clean.services, "dup", "DUP", bars, day, day)
    quality = await clean.services.quality.assess("dup", received=2 * 390, stored_before=0)
    assert (quality.bars, quality.duplicates_dropped, quality.coverage) == (390, 390, 1.0)

    refetch = await clean.services.quality.assess("dup", received=390)  # before: the last assessment's 390
    assert refetch.duplicates_dropped == 390
    again = await clean.services.quality.assess("dup")  # no fetch: the last count stands
    assert again.duplicates_dropped == 390


async def test_zero_volume_runs_and_ohlc_violations(clean: Runtime):
    day = dt.date(2024, 3, 5)
    times = session_minutes(day)
    n = len(times)
    volume = np.full(n, 100.0)
    volume[[10, 11, 12, 50, 51, 389]] = 0  # three runs
    open_ = np.full(n, 10.0)
    high = np.full(n, 11.0)
    low = np.full(n, 9.0)
    close = np.full(n, 10.5)
    high[100] = 10.2  # below the close
    low[101] = 10.1  # above the open
    high[102], low[102] = 9.5, 9.6  # below the low (and below the body)
    open_[103] = -1.0  # a negative price (and a low above it)
    close[104] = float("nan")
    bars = bars_at(times, open=open_, high=high, low=low, close=close, volume=volume)
    await store_minute_dataset(clean.services, "bad", "BAD", bars, day, day)
    quality = await clean.services.quality.assess("bad")
    assert (quality.zero_volume_bars, quality.zero_volume_runs) == (6, 3)
    assert quality.ohlc_violations == 5
    assert quality.ohlc.high_below_body == 2
    assert quality.ohlc.low_above_body == 2
    assert quality.ohlc.high_below_low == 1
    assert quality.ohlc.non_positive == 2


async def test_unfinished_sessions_are_not_expected(clean: Runtime):
    day = dt.date(2024, 3, 5)
    times = [t for t in session_minutes(day) if t < ny(day, 12, 0)]
    await store_minute_dataset(clean.services, "today", "TODAY", bars_at(times), day, day)
    quality = await assessor(clean, ny(day, 12, 0)).assess("today")
    assert (quality.expected, quality.coverage) == (150, 1.0)
    assert quality.window_end == ny(day, 12, 0)

    days = [dt.date(2024, 3, 4), day]
    await store(clean, "daily_today", bars_at([ny(dt.date(2024, 3, 4), 0, 0)]), days[0], days[1])
    during = await assessor(clean, ny(day, 12, 0)).assess("daily_today")
    assert (during.expected, during.gaps) == (1, 0)  # the 5th's bar comes after its close
    after = await assessor(clean, ny(day, 16, 0)).assess("daily_today")
    assert (after.expected, after.gaps) == (2, 1)


async def test_wider_bars_and_empty_datasets(clean: Runtime):
    mondays = [dt.date(2024, 1, 1) + dt.timedelta(weeks=w) for w in range(9)]  # Jan 1 is a holiday
    kept = [m for i, m in enumerate(mondays) if i not in (3, 4)]
    await store(
        clean, "weekly", bars_at([ny(m, 0, 0) for m in kept]), mondays[0], dt.date(2024, 3, 1), "week"
    )
    quality = await clean.services.quality.assess("weekly")
    assert (quality.expected, quality.present, quality.gaps) == (9, 7, 1)
    (gap,) = quality.largest_gaps
    assert (gap.start, gap.end, gap.missing) == (ny(mondays[3], 0, 0), ny(mondays[5], 0, 0), 2)

    # Bars stamped at UTC midnight still land on their own day.
    utc_days = [dt.datetime(2024, 7, d, tzinfo=dt.UTC) for d in (1, 2, 3, 5)]
    await store(clean, "utc", bars_at(utc_days), dt.date(2024, 7, 1), dt.date(2024, 7, 5))
    assert (await clean.services.quality.assess("utc")).coverage == 1.0

    await store(clean, "nothing", bars_at([]), dt.date(2024, 1, 2), dt.date(2024, 1, 5))
    empty = await clean.services.quality.assess("nothing", received=0)
    assert (empty.bars, empty.expected, empty.coverage, empty.gaps, empty.duplicates_dropped) == (
        0,
        4,
        0.0,
        1,
        0,
    )

    await store(clean, "weekend", bars_at([]), dt.date(2024, 1, 6), dt.date(2024, 1, 7))
    assert (await clean.services.quality.assess("weekend")).coverage is None

    with pytest.raises(NotFound):
        await clean.services.quality.assess("no_such_table")


async def test_bars_wider_than_a_day_need_whole_days(clean: Runtime):
    await clean.services.catalog.upsert(
        DatasetRecord(
            table="odd",
            symbol="ODD",
            timespan="hour",
            multiplier=36,
            adjusted=True,
            source="synthetic",
            start_date=dt.date(2024, 1, 2),
            end_date=dt.date(2024, 1, 5),
            record_count=0,
            first_bar=None,
            last_bar=None,
        )
    )
    with pytest.raises(UnsupportedRequest):
        await clean.services.quality.assess("odd")


def test_slots_align_in_new_york_time():
    day = dt.date(2024, 3, 11)  # EDT
    slots = expected_slots("4h", day, day, 2**62)
    assert [dt.datetime.fromtimestamp(s / 1000, NY).hour for s in slots.starts] == [8, 12]
    assert slot_keys("4h", np.array([int(ny(day, 15, 59).timestamp() * 1000)])).tolist() == [slots.starts[1]]
    fives = expected_slots("5m", day, day, 2**62)
    assert len(fives.starts) == 78
    assert count_runs(np.array([], dtype=np.bool_)) == 0
