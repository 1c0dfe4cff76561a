"""The hot cache answers narrow windows exactly as ClickHouse does, and never serves a stale month.

Where it declines a slice, the reason must be one its module documents and must hold: every
window within :data:`MAX_MONTHS` UTC months of an intraday series is answered from memory, and a
longer one is declined exactly when a stage of the search reads it at a width no rollup serves.
"""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from api.runtime import Runtime
from pipelines.charts.hot_cache import MAX_MONTHS, Decline, Declined, HotBars
from pipelines.series.versions import SeriesVersion, SeriesVersions, utc_months
from schemas.bars import SeriesKey, SliceQuery
from tests.warehouse.test_chart_slice_property import reference
from tests.warehouse.test_rollups import random_bars, rows_of, to_table
from warehouse.clickhouse.rollups import rollup_source
from warehouse.clickhouse.slice_search import Slice

_symbols = itertools.count()
V1 = SeriesVersion.fixed("v1")


def one_minute(ref: SeriesKey, start: dt.datetime, end: dt.datetime, timeframe: str = "1m") -> SliceQuery:
    """A slice of ``ref`` over ``[start, end]`` at ``timeframe`` (1m) within 2,000 points."""
    return SliceQuery(ref=ref, timeframe=timeframe, start=start, end=end, max_points=2000)


def assert_documented(declined: Declined, query: SliceQuery) -> None:
    """A decline of a 1m series by a cache with room: only a stage over too many months, truly."""
    window_months = len(utc_months(query.start, query.end))
    assert declined.reason is Decline.TOO_MANY_MONTHS, declined
    assert window_months > MAX_MONTHS, (declined, window_months)  # a shorter window is always served
    assert MAX_MONTHS < declined.months <= window_months, (declined, window_months)
    assert declined.width is not None
    assert rollup_source(query.ref.series, declined.width) is None, declined  # rollups serve the rest


def tally(outcome: str) -> None:
    """Count ``outcome`` in a property test's statistics (``--hypothesis-show-statistics``)."""
    if currently_in_test_context():
        event(outcome)


async def compare(runtime, bars, timeframe, max_points, cut, session) -> bool:
    """Slice the same window from memory and from ClickHouse; True when memory served it.

    When memory declined, the decline is a documented one (:func:`assert_documented`); and when
    ClickHouse answered at a width no rollup serves over more than :data:`MAX_MONTHS` months, the
    search read that width (or a finer one) over the whole window, so memory must have declined.
    """
    store = runtime.services.bars
    ref = SeriesKey.of(symbol=f"HOT{next(_symbols)}", series="1m", adjusted=True)
    await store.insert(ref, "synthetic", to_table(bars))
    await store.insert(ref, "synthetic", to_table(bars[: len(bars) // 3]))  # duplicates fold
    times = [bar[0] for bar in bars]
    span = times[-1] - times[0]
    start = times[0] + span * cut[0] - dt.timedelta(seconds=30)
    end = times[0] + span * cut[1] + dt.timedelta(seconds=30)
    query = SliceQuery(
        ref=ref, timeframe=timeframe, start=start, end=end, max_points=max_points, session=session
    )
    hot = HotBars(store)
    got = await hot.answer(query, SeriesVersion.fixed("v1"))
    want = await store.chart_slice(query)
    long_and_fine = len(utc_months(start, end)) > MAX_MONTHS and rollup_source("1m", want.bucket) is None
    if isinstance(got, Declined):
        assert_documented(got, query)
        tally(f"declined: {got.reason} at {got.width}")
        return False
    tally("served from memory")
    assert not long_and_fine, (want.bucket, start, end)
    assert (got.bucket, got.truncated) == (want.bucket, want.truncated)
    assert rows_of(got.table) == rows_of(want.table)
    return True


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    stamps=st.sets(
        st.tuples(st.integers(0, 1500), st.integers(4 * 60, 20 * 60 - 1)), min_size=2, max_size=400
    ),
    seed=st.integers(0, 2**32 - 1),
    timeframe=st.sampled_from(["1m", "5m", "30m", "1h", "4h", "1d", "1w", "1M"]),
    max_points=st.integers(2, 500),
    cut=st.tuples(st.floats(0, 0.5), st.floats(0.5, 1)),
    session=st.sampled_from(["extended", "regular"]),
)
async def test_long_windows_from_memory_equal_the_clickhouse_slices(
    runtime: Runtime, stamps, seed, timeframe, max_points, cut, session
) -> None:
    await compare(runtime, random_bars(seed, sorted(stamps)), timeframe, max_points, cut, session)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    stamps=st.sets(st.tuples(st.integers(0, 60), st.integers(4 * 60, 20 * 60 - 1)), min_size=1, max_size=400),
    seed=st.integers(0, 2**32 - 1),
    timeframe=st.sampled_from(["1m", "2m", "5m", "15m", "30m", "1h", "2h"]),
    max_points=st.integers(2, 500),
    cut=st.tuples(st.floats(0, 0.5), st.floats(0.5, 1)),
    session=st.sampled_from(["extended", "regular"]),
)
async def test_narrow_windows_from_memory_equal_the_clickhouse_slices(
    runtime: Runtime, stamps, seed, timeframe, max_points, cut, session
) -> None:
    # 61 days from 2021-01-04: never more than MAX_MONTHS months, so memory always answers.
    assert await compare(runtime, random_bars(seed, sorted(stamps)), timeframe, max_points, cut, session)


async def test_dense_long_history_is_served_from_memory(runtime: Runtime) -> None:
    stamps = [(day, minute) for day in range(0, 900) for minute in range(4 * 60, 20 * 60, 37)]
    bars = random_bars(5, stamps)
    for cut in ((0.0, 1.0), (0.1, 0.9), (0.5, 0.52)):
        assert await compare(runtime, bars, "1m", 2000, cut, "extended")
        assert await compare(runtime, bars, "1m", 2000, cut, "regular")


async def test_a_new_version_reads_the_changed_bars(runtime: Runtime) -> None:
    store = runtime.services.bars
    ref = SeriesKey.of(symbol=f"HOT{next(_symbols)}", series="1m", adjusted=True)
    bars = random_bars(3, [(day, 600 + minute) for day in range(5) for minute in range(0, 300, 7)])
    await store.insert(ref, "synthetic", to_table(bars))
    hot = HotBars(store)
    start, end = bars[0][0], bars[-1][0]

    first = await hot.chart_slice(one_minute(ref, start, end), V1)
    assert first is not None
    assert rows_of(first.table) == reference(bars, "1m", 2000)[1]

    changed = [(t, o, h + 1.0, low, c, v) for t, o, h, low, c, v in bars[:10]]
    await store.insert(ref, "synthetic", to_table(changed))
    same_version = await hot.chart_slice(one_minute(ref, start, end), V1)
    assert same_version is not None
    assert rows_of(same_version.table) == rows_of(first.table)  # what that version was

    second = await hot.chart_slice(one_minute(ref, start, end), SeriesVersion.fixed("v2"))
    assert second is not None
    assert rows_of(second.table) == reference(changed + bars[10:], "1m", 2000)[1]


async def _window(hot: HotBars, versions: SeriesVersions, ref: SeriesKey, bars) -> list[tuple[object, ...]]:
    """The hot cache's 1m slice over ``bars``' span at the series' current version."""
    got = await hot.chart_slice(one_minute(ref, bars[0][0], bars[-1][0]), await versions.current(ref))
    assert got is not None
    return rows_of(got.table)


def _raised(bars, count: int = 10):
    """``bars`` with the highs of the first ``count`` raised by one."""
    return [(t, o, h + 1.0, low, c, v) for t, o, h, low, c, v in bars[:count]] + bars[count:]


async def test_a_change_reloads_only_the_months_it_names(clean: Runtime) -> None:
    store, versions = clean.services.bars, clean.services.versions
    ref = SeriesKey.of(symbol=f"HOT{next(_symbols)}", series="1m", adjusted=True)
    january = random_bars(3, [(day, 600 + minute) for day in range(5) for minute in range(0, 300, 7)])
    february = random_bars(4, [(day, 600 + minute) for day in range(40, 45) for minute in range(0, 300, 7)])
    await store.insert(ref, "synthetic", to_table(january + february))
    await versions.bump(ref)
    hot = HotBars(store)
    assert await _window(hot, versions, ref, january) == reference(january, "1m", 2000)[1]
    assert await _window(hot, versions, ref, february) == reference(february, "1m", 2000)[1]

    # Both months change in the store, but only February's change is announced.
    await store.insert(ref, "synthetic", to_table(_raised(january)[:10] + _raised(february)[:10]))
    await versions.bump(ref, (february[0][0], february[9][0]))
    assert await _window(hot, versions, ref, january) == reference(january, "1m", 2000)[1]  # still held
    assert await _window(hot, versions, ref, february) == reference(_raised(february), "1m", 2000)[1]

    await versions.bump(ref)  # a change that names no span reaches every month
    assert await _window(hot, versions, ref, january) == reference(_raised(january), "1m", 2000)[1]


async def test_a_change_in_one_year_rebuilds_that_years_rollups_only(clean: Runtime) -> None:
    store, versions = clean.services.bars, clean.services.versions
    ref = SeriesKey.of(symbol=f"HOT{next(_symbols)}", series="1m", adjusted=True)
    bars = random_bars(6, [(day, minute) for day in range(0, 900) for minute in range(4 * 60, 20 * 60, 37)])
    await store.insert(ref, "synthetic", to_table(bars))
    await versions.bump(ref)
    hot = HotBars(store)
    assert await _window(hot, versions, ref, bars) == reference(bars, "1m", 2000)[1]

    # Mid-2021 and mid-2023 change; only 2023's change is announced, so 2021's rollups stay held.
    in_2021 = [i for i, bar in enumerate(bars) if bar[0].year == 2021 and bar[0].month == 6]
    in_2023 = [i for i, bar in enumerate(bars) if bar[0].year == 2023 and bar[0].month == 3]
    changed = list(bars)
    for i in in_2021 + in_2023:
        t, o, h, low, c, v = bars[i]
        changed[i] = (t, o, h + 1.0, low, c, v + 1.0)
    await store.insert(ref, "synthetic", to_table([changed[i] for i in in_2021 + in_2023]))
    await versions.bump(ref, (bars[in_2023[0]][0], bars[in_2023[-1]][0]))
    announced = [changed[i] if bar[0].year == 2023 else bar for i, bar in enumerate(bars)]
    assert await _window(hot, versions, ref, bars) == reference(announced, "1m", 2000)[1]

    await versions.bump(ref, (bars[in_2021[0]][0], bars[in_2021[-1]][0]))
    assert await _window(hot, versions, ref, bars) == reference(changed, "1m", 2000)[1]


async def test_the_documented_declines_and_only_those(runtime: Runtime) -> None:
    store = runtime.services.bars
    ref = SeriesKey.of(symbol=f"HOT{next(_symbols)}", series="1m", adjusted=True)
    # Sparse bars over a year: at 1m every bar fits 2,000 points, so the search reads 1m throughout.
    bars = random_bars(8, [(day, 600) for day in range(0, 365, 7)])
    await store.insert(ref, "synthetic", to_table(bars))
    year = one_minute(ref, bars[0][0], bars[-1][0])

    off = await HotBars(store, max_bytes=0).answer(year, V1)
    assert off == Declined(reason=Decline.OFF)

    daily = SeriesKey.of(symbol=ref.symbol, series="1d", adjusted=True)
    wide = await HotBars(store).answer(one_minute(daily, bars[0][0], bars[-1][0], timeframe="1d"), V1)
    assert wide == Declined(reason=Decline.NOT_INTRADAY)

    hot = HotBars(store)
    declined = await hot.answer(year, V1)
    assert isinstance(declined, Declined)
    assert_documented(declined, year)
    assert declined.width == "1m"
    assert await hot.chart_slice(year, V1) is None
    assert (await store.chart_slice(year)).bucket == "1m"

    # The same year at 30 minutes reads rollups in the middle and bars only at the edges: served.
    half_hours = await hot.answer(one_minute(ref, bars[0][0], bars[-1][0], timeframe="30m"), V1)
    assert isinstance(half_hours, Slice)
    want = await store.chart_slice(one_minute(ref, bars[0][0], bars[-1][0], timeframe="30m"))
    assert rows_of(half_hours.table) == rows_of(want.table)

    # Three months of the same bars at 1m: within MAX_MONTHS, served.
    spring = [bar for bar in bars if bar[0].month in (3, 4, 5)]
    served = await hot.answer(one_minute(ref, spring[0][0], spring[-1][0]), V1)
    assert isinstance(served, Slice)
    assert rows_of(served.table) == reference(spring, "1m", 2000)[1]
