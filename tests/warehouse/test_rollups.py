"""Rollups: long windows read 30-minute and daily rollups plus the bars at their edges, exactly.

The reference is the naive bucketing of :mod:`tests.warehouse.test_chart_slice_property`; bars are
spread over years so the slice's first width is 30 minutes or wider and the rollups serve it.
Corrections, deletions and bars stored before the rollup tables existed must all show.
"""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.runtime import Runtime
from schemas.bars import BAR_ARROW_SCHEMA, SeriesKey, SliceQuery
from tests.warehouse.test_chart_slice_property import NY, UTC, reference
from warehouse.clickhouse.ddl import ROLLUP_DIRTY_TABLE, ROLLUPS_TABLE
from warehouse.clickhouse.rollups import cut_points, rollup_source

_symbols = itertools.count()
FIRST_DAY = dt.date(2021, 1, 4)


def regular(ts: dt.datetime) -> bool:
    local = ts.astimezone(NY)
    return 570 <= local.hour * 60 + local.minute <= 959


def to_table(bars: list[tuple[dt.datetime, float, float, float, float, float]]) -> pa.Table:
    return pa.table(
        {
            "ts": pa.array([bar[0] for bar in bars], pa.timestamp("ms", tz="UTC")),
            **{
                name: [bar[i + 1] for bar in bars]
                for i, name in enumerate(["open", "high", "low", "close", "volume"])
            },
            "vwap": pa.nulls(len(bars), pa.float64()),
            "transactions": pa.nulls(len(bars), pa.uint32()),
        },
        schema=BAR_ARROW_SCHEMA,
    )


def random_bars(
    seed: int, stamps: list[tuple[int, int]]
) -> list[tuple[dt.datetime, float, float, float, float, float]]:
    times = sorted(
        dt.datetime.combine(FIRST_DAY + dt.timedelta(days=day), dt.time(m // 60, m % 60), NY).astimezone(UTC)
        for day, m in stamps
    )
    rng = np.random.default_rng(seed)
    opens = rng.uniform(10, 20, len(times)).round(4)
    closes = rng.uniform(10, 20, len(times)).round(4)
    highs = np.maximum(opens, closes) + rng.uniform(0, 1, len(times)).round(4)
    lows = np.minimum(opens, closes) - rng.uniform(0, 1, len(times)).round(4)
    volumes = rng.integers(1, 10_000, len(times)).astype(float)
    return list(
        zip(
            times,
            opens.tolist(),
            highs.tolist(),
            lows.tolist(),
            closes.tolist(),
            volumes.tolist(),
            strict=True,
        )
    )


def rows_of(table: pa.Table) -> list[tuple[object, ...]]:
    return list(zip(*(table.column(name).to_pylist() for name in table.column_names), strict=True))


def window(ref: SeriesKey, start: dt.datetime, end: dt.datetime, max_points: int) -> SliceQuery:
    """A 1m slice of ``ref`` over ``[start, end]`` within ``max_points``."""
    return SliceQuery(ref=ref, timeframe="1m", start=start, end=end, max_points=max_points)


async def rollup_rows(runtime: Runtime, ref: SeriesKey) -> int:
    result = await runtime.stack.clickhouse.run(
        lambda client: client.query(
            f"SELECT count() FROM {ROLLUPS_TABLE} WHERE symbol = {{s:String}}", parameters={"s": ref.symbol}
        )
    )
    return int(result.result_rows[0][0])


def test_cut_points_are_whole_buckets_inside_the_window() -> None:
    start = dt.datetime(2024, 3, 8, 15, 7, tzinfo=UTC)
    end = dt.datetime(2024, 3, 12, 14, 59, 59, 999000, tzinfo=UTC)
    assert cut_points("30m", start, end) == (
        dt.datetime(2024, 3, 8, 15, 30, tzinfo=UTC),
        dt.datetime(2024, 3, 12, 15, 0, tzinfo=UTC),
    )
    # New York midnights, across the March DST change (EST before, EDT after).
    assert cut_points("1d", start, end) == (
        dt.datetime(2024, 3, 9, 5, 0, tzinfo=UTC),
        dt.datetime(2024, 3, 12, 4, 0, tzinfo=UTC),
    )
    assert rollup_source("1m", "2h") == "30m"
    assert rollup_source("1m", "1w") == "1d"
    assert rollup_source("1m", "15m") is None
    assert rollup_source("1d", "1w") is None


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    stamps=st.sets(
        st.tuples(st.integers(0, 1100), st.integers(4 * 60, 20 * 60 - 1)), min_size=2, max_size=300
    ),
    seed=st.integers(0, 2**32 - 1),
    timeframe=st.sampled_from(["1m", "5m", "30m", "1h", "4h", "1d", "1w"]),
    max_points=st.integers(2, 400),
    cut=st.tuples(st.floats(0, 0.5), st.floats(0.5, 1)),
    session=st.sampled_from(["extended", "regular"]),
)
async def test_long_windows_from_rollups_match_the_reference(
    runtime: Runtime, stamps, seed, timeframe, max_points, cut, session
) -> None:
    bars = random_bars(seed, sorted(stamps))
    ref = SeriesKey.of(symbol=f"ROLL{next(_symbols)}", series="1m", adjusted=True)
    store = runtime.services.bars
    await store.insert(ref, "synthetic", to_table(bars))
    await store.insert(ref, "synthetic", to_table(bars[: len(bars) // 2]))  # duplicates fold
    times = [bar[0] for bar in bars]
    span = times[-1] - times[0]
    start = times[0] + span * cut[0] - dt.timedelta(seconds=90)
    end = times[0] + span * cut[1] + dt.timedelta(seconds=90)
    keep = regular if session == "regular" else (lambda _ts: True)
    inside = [bar for bar in bars if start <= bar[0] <= end and keep(bar[0])]

    got = await store.chart_slice(
        SliceQuery(ref=ref, timeframe=timeframe, start=start, end=end, max_points=max_points, session=session)
    )
    want_code, want_rows = reference(inside, timeframe, max_points)
    if inside:
        assert got.bucket == want_code
    assert rows_of(got.table) == want_rows


async def test_corrections_and_deletions_reach_the_rollups(runtime: Runtime) -> None:
    store = runtime.services.bars
    ref = SeriesKey.of(symbol=f"ROLL{next(_symbols)}", series="1m", adjusted=True)
    stamps = [(day, minute) for day in range(0, 700, 3) for minute in (9 * 60 + 30, 12 * 60, 15 * 60 + 59)]
    bars = random_bars(7, stamps)
    await store.insert(ref, "synthetic", to_table(bars))
    start, end = bars[0][0], bars[-1][0]

    first = await store.chart_slice(window(ref, start, end, 400))
    assert (first.bucket, rows_of(first.table)) == reference(bars, "1m", 400)
    assert await rollup_rows(runtime, ref) > 0  # the long window was served from rollups

    corrected = [(t, o, h + 100.0, low, c, v + 1.0) for t, o, h, low, c, v in bars[:30]]
    await store.insert(ref, "synthetic", to_table(corrected))
    merged = corrected + bars[30:]
    second = await store.chart_slice(window(ref, start, end, 400))
    assert rows_of(second.table) == reference(merged, "1m", 400)[1]

    cut_from, cut_to = bars[100][0], bars[200][0]
    await store.delete(ref, cut_from, cut_to)
    kept = [bar for bar in merged if not cut_from <= bar[0] <= cut_to]
    third = await store.chart_slice(window(ref, start, end, 400))
    assert rows_of(third.table) == reference(kept, "1m", 400)[1]


async def test_bars_stored_before_the_rollup_tables_are_rolled_up(runtime: Runtime) -> None:
    store = runtime.services.bars
    ref = SeriesKey.of(symbol=f"ROLL{next(_symbols)}", series="1m", adjusted=True)
    bars = random_bars(11, [(day, 10 * 60) for day in range(0, 900, 2)])
    await store.insert(ref, "synthetic", to_table(bars))

    def drop(client) -> None:
        client.command(f"DROP TABLE {ROLLUPS_TABLE}")
        client.command(f"DROP TABLE {ROLLUP_DIRTY_TABLE}")

    await runtime.stack.clickhouse.run(drop)
    await store.ensure_schema()  # an upgrade: the tables are new, the bars are not
    got = await store.chart_slice(window(ref, bars[0][0], bars[-1][0], 300))
    assert rows_of(got.table) == reference(bars, "1m", 300)[1]
    assert await rollup_rows(runtime, ref) > 0
