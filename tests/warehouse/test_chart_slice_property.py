"""Chart-slice bucketing against a naive pure-Python reference, over random bars (Hypothesis).

Bars fall on random minutes of exchange days around the 2024 DST changes, a half-day and a year
end; windows, budgets and timeframes are random. The reference buckets in New York time with
zoneinfo, picks the narrowest width that fits the budget, and aggregates row by row.
"""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.runtime import Runtime
from schemas.bars import BAR_ARROW_SCHEMA, SeriesKey, SliceQuery
from warehouse.clickhouse.buckets import ladder_from

NY = ZoneInfo("America/New_York")
UTC = dt.UTC
_symbols = itertools.count()
STARTS = [dt.date(2024, 3, 7), dt.date(2024, 10, 31), dt.date(2024, 11, 27), dt.date(2024, 12, 30)]


def bucket(code: str, ts: dt.datetime) -> dt.datetime:
    """Start (UTC) of the ``code`` bucket holding ``ts``, aligned in New York time."""
    local = ts.astimezone(NY)
    count, unit = int(code[:-1]), code[-1]
    if unit in "mh":
        width = count * (60 if unit == "h" else 1)
        minute = (local.hour * 60 + local.minute) // width * width
        start = local.replace(hour=minute // 60, minute=minute % 60, second=0, microsecond=0)
    elif code == "1d":
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    elif code == "1w":
        day = local.date() - dt.timedelta(days=local.weekday())
        start = dt.datetime.combine(day, dt.time(), NY)
    else:
        months = {"1M": 1, "3M": 3, "12M": 12}[code]
        month = (local.month - 1) // months * months + 1
        start = dt.datetime(local.year, month, 1, tzinfo=NY)
    return dt.datetime.combine(start.date(), start.time(), NY).astimezone(UTC)


def reference(
    bars: list[tuple[dt.datetime, float, float, float, float, float]], timeframe: str, max_points: int
):
    """The expected (bucket width, rows) for ``bars`` (sorted, already inside the window)."""
    ladder = ladder_from(timeframe)
    for index, code in enumerate(ladder):
        groups: dict[dt.datetime, list[tuple[dt.datetime, float, float, float, float, float]]] = {}
        for bar in bars:
            groups.setdefault(bucket(code, bar[0]), []).append(bar)
        if len(groups) <= max_points or index == len(ladder) - 1:
            rows = [
                (start, g[0][1], max(b[2] for b in g), min(b[3] for b in g), g[-1][4], sum(b[5] for b in g))
                for start, g in sorted(groups.items())
            ]
            return code, rows[-max_points:]
    raise AssertionError("unreachable")


@st.composite
def bar_sets(draw):
    first = draw(st.sampled_from(STARTS))
    minutes = draw(
        st.sets(st.tuples(st.integers(0, 5), st.integers(4 * 60, 20 * 60 - 1)), min_size=1, max_size=300)
    )
    times = sorted(
        dt.datetime.combine(first + dt.timedelta(days=day), dt.time(m // 60, m % 60), NY).astimezone(UTC)
        for day, m in minutes
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    opens = rng.uniform(10, 20, len(times)).round(4)
    closes = rng.uniform(10, 20, len(times)).round(4)
    highs = np.maximum(opens, closes) + rng.uniform(0, 1, len(times)).round(4)
    lows = np.minimum(opens, closes) - rng.uniform(0, 1, len(times)).round(4)
    volumes = rng.integers(1, 10_000, len(times)).astype(float)
    return [
        (t, o, h, low, c, v)
        for t, o, h, low, c, v in zip(times, opens, highs, lows, closes, volumes, strict=True)
    ]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    bars=bar_sets(),
    timeframe=st.sampled_from(["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w"]),
    max_points=st.integers(1, 400),
    cut=st.tuples(st.floats(0, 0.5), st.floats(0.5, 1)),
)
async def test_slices_match_the_naive_reference(runtime: Runtime, bars, timeframe, max_points, cut):
    max_points = max(2, max_points)
    ref = SeriesKey.of(symbol=f"HYP{next(_symbols)}", series="1m", adjusted=True)
    times = [bar[0] for bar in bars]
    table = pa.table(
        {
            "ts": pa.array(times, pa.timestamp("ms", tz="UTC")),
            **{
                name: [bar[i + 1] for bar in bars]
                for i, name in enumerate(["open", "high", "low", "close", "volume"])
            },
            "vwap": pa.nulls(len(bars), pa.float64()),
            "transactions": pa.nulls(len(bars), pa.uint32()),
        },
        schema=BAR_ARROW_SCHEMA,
    )
    await runtime.services.bars.insert(ref, "synthetic", table)
    await runtime.services.bars.insert(ref, "synthetic", table.slice(0, len(bars) // 2))  # duplicates fold
    span = times[-1] - times[0]
    start = times[0] + span * cut[0] - dt.timedelta(minutes=1)
    end = times[0] + span * cut[1] + dt.timedelta(minutes=1)
    inside = [bar for bar in bars if start <= bar[0] <= end]

    got = await runtime.services.bars.chart_slice(
        SliceQuery(ref=ref, timeframe=timeframe, start=start, end=end, max_points=max_points)
    )
    want_code, want_rows = reference(inside, timeframe, max_points)
    rows = list(zip(*(got.table.column(name).to_pylist() for name in got.table.column_names), strict=True))
    if inside:
        assert got.bucket == want_code
    assert len(rows) == len(want_rows)
    for row, want in zip(rows, want_rows, strict=True):
        assert row[0] == want[0]
        assert row[1:] == want[1:]
