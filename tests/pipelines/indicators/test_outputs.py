"""Stored indicator outputs on the real stores: equal to TA-Lib over the whole series, in every window,
and after every extension by new bars equal to a full recompute."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import talib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.runtime import Runtime
from pipelines.indicators.catalog import info, talib_names
from pipelines.indicators.outputs import IndicatorOutputs
from pipelines.indicators.own import OwnContext
from pipelines.indicators.specs import BucketSeries, IndicatorSpec, compute, parse_indicator, stable_index
from pipelines.ingest.sources.feeds import bars_batch
from pipelines.series.writes import Claim
from schemas.bars import ChartDataRequest, SeriesKey
from schemas.values import BarWidth, Session
from warehouse.catalog.datasets import DatasetRecord

MINUTE_MS = 60_000
DAY_MS = 86_400_000
_symbols = itertools.count()
LIVE_SIX = ("sma(20)", "ema(20)", "rsi(14)", "macd(12,26,9)", "bbands(20,2,2)", "atr(14)")


def random_bars(start_ms: int, count: int, step_ms: int, seed: int, scale: float = 100.0) -> pa.RecordBatch:
    """A random walk with flat runs, missing bars and zero volumes, around ``scale``."""
    rng = np.random.default_rng(seed)
    stamps = start_ms + np.arange(count * 2, dtype=np.int64) * step_ms
    stamps = np.sort(rng.choice(stamps, size=count, replace=False))  # gaps
    close = scale * np.exp(np.cumsum(rng.normal(0, 0.01, count)))
    flat = slice(count // 3, count // 3 + 25)
    close[flat] = close[flat.start]  # a flat run: zero ranges, zero deviations
    open_ = np.concatenate([[close[0]], close[:-1]])
    spread = np.abs(rng.normal(0, 0.004, count)) * close
    spread[flat] = 0.0
    high, low = np.maximum(open_, close) + spread, np.minimum(open_, close) - spread
    volume = rng.integers(0, 50_000, count).astype(np.float64)
    volume[flat] = 0.0
    return bars_batch(
        stamps.tolist(), open_.tolist(), high.tolist(), low.tolist(), close.tolist(), volume.tolist(),
        [None] * count, [None] * count,
    )  # fmt: skip


async def store(runtime: Runtime, ref: SeriesKey, bars: pa.RecordBatch | pa.Table) -> None:
    await runtime.services.writer.write(ref, Claim(source="synthetic", doing="testing"), bars)


def new_ref(series: str = "1m") -> SeriesKey:
    return SeriesKey.of(symbol=f"IND{next(_symbols)}", series=series, adjusted=True)


def direct(spec: IndicatorSpec, buckets: pa.Table) -> list[np.ndarray[Any, Any]]:
    """``spec`` through TA-Lib's own function, on the bucket series' arrays."""
    columns = {
        name: np.ascontiguousarray(buckets.column(name).to_numpy(), dtype=np.float64)
        for name in buckets.column_names[1:]
    }
    result = getattr(talib, spec.function)(*(columns[name] for name in spec.inputs), **spec.params)
    return [
        np.asarray(values, dtype=np.float64)
        for values in (result if isinstance(result, tuple | list) else [result])
    ]


async def stored(
    outputs: IndicatorOutputs, ref: SeriesKey, width: str, session: Session, spec: IndicatorSpec
):
    (state,) = await outputs.current(ref, width, session, [spec])
    return state, await outputs.read(state, -(2**62), 2**62)


@pytest.mark.parametrize(("scale", "seed"), [(100.0, 1), (0.0005, 2), (2e8, 3)])
async def test_every_ta_lib_function_is_stored_equal_to_ta_lib_itself(
    runtime: Runtime, scale: float, seed: int
):
    """All of TA-Lib's chartable functions at their defaults, over daily bars with gaps and flat runs."""
    services = runtime.services
    ref = new_ref("1d")
    await store(runtime, ref, random_bars(1_577_836_800_000, 420, DAY_MS, seed, scale))
    names = sorted(name for name in talib_names() if info(name).chartable)
    assert len(names) == 200  # every one of the 201 but MAVP, whose periods are no bar column
    specs = [parse_indicator(name.lower()) for name in names]
    states = await services.indicators.current(ref, "1d", "extended", specs)
    buckets = await services.bars.bucket_series(ref, "1d")
    assert buckets.num_rows == 420
    for spec, state in zip(specs, states, strict=True):
        ts, values = await services.indicators.read(state, -(2**62), 2**62)
        assert ts.tolist() == buckets.column("ts").cast(pa.int64()).to_pylist(), spec.text
        for output, got, want in zip(spec.outputs, values, direct(spec, buckets), strict=True):
            np.testing.assert_array_equal(
                got, want, err_msg=f"{spec.text}:{output}"
            )  # NaN where TA-Lib's are
        assert state.rows == 420
        assert state.how == "computed"


async def test_a_second_request_reuses_what_is_stored_and_a_recompute_never_duplicates(runtime: Runtime):
    services = runtime.services
    ref = new_ref()
    await store(runtime, ref, random_bars(1_709_560_800_000, 3_000, MINUTE_MS, 4))
    spec = parse_indicator("macd(fastperiod=8, slowperiod=21)")
    first, (ts, values) = await stored(services.indicators, ref, "5m", "extended", spec)
    again, (ts_again, values_again) = await stored(services.indicators, ref, "5m", "extended", spec)
    assert (first.how, again.how) == ("computed", "reused")
    await services.indicator_calculator.outputs.registry.delete_series(ref.symbol, ref.series, ref.adjusted)
    recomputed, (ts_third, values_third) = await stored(services.indicators, ref, "5m", "extended", spec)
    assert recomputed.how == "computed"
    assert ts.tolist() == ts_again.tolist() == ts_third.tolist()
    for a, b, c in zip(values, values_again, values_third, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    rows = await runtime.stack.clickhouse.run(
        lambda client: (
            client.query(
                "SELECT count(), uniqExact(output, chunk) FROM indicator_values FINAL"
                " WHERE symbol = {s:String}",
                parameters={"s": ref.symbol},
            ).result_rows
        )
    )
    assert rows == [(3, 3)]  # three outputs of one month of buckets, each stored once


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    timeframe=st.sampled_from(["1m", "5m", "15m", "1h", "4h", "1d"]),
    cut=st.tuples(st.floats(0, 0.9), st.floats(0.01, 1)),
    max_points=st.integers(20, 3000),
    session=st.sampled_from(["extended", "regular"]),
)
async def test_values_are_the_same_in_every_window_and_equal_ta_lib_over_the_whole_series(
    window_series: SeriesKey,
    runtime: Runtime,
    timeframe: str,
    cut: tuple[float, float],
    max_points: int,
    session: Session,
):
    """Random windows, zooms and sessions over minutes spanning the March 2024 DST change."""
    services = runtime.services
    first, last = dt.datetime(2024, 3, 7, 9, tzinfo=dt.UTC), dt.datetime(2024, 3, 14, 23, tzinfo=dt.UTC)
    span = last - first
    start = first + span * cut[0]
    end = min(start + span * cut[1], last)
    request = ChartDataRequest(
        symbol=window_series.symbol, timeframe=timeframe, max_points=max_points, session=session,
        indicators=["ema(10)", "rsi", "macd", "obv", "svwap"], from_=start.isoformat(), to=end.isoformat(),
    )  # fmt: skip
    plan = await services.charts.plan(request)
    result, _ = await services.charts.chart_slice(plan, request)
    if result.table.num_rows == 0:
        return
    buckets = await services.bars.bucket_series(window_series, result.bucket, session)
    all_ts = buckets.column("ts").cast(pa.int64()).to_numpy()
    at = np.searchsorted(all_ts, result.table.column("ts").cast(pa.int64()).to_numpy())
    for text in ("ema(10)", "rsi", "macd", "obv"):
        spec = parse_indicator(text)
        for output, want in zip(spec.outputs, direct(spec, buckets), strict=True):
            got = result.table.column(spec.column(output)).to_numpy(zero_copy_only=False)
            np.testing.assert_array_equal(got, want[at], err_msg=f"{text}:{output} at {result.bucket}")


@pytest.fixture(scope="module")
async def window_series(runtime: Runtime) -> SeriesKey:
    ref = new_ref()
    start = int(dt.datetime(2024, 3, 7, 9, tzinfo=dt.UTC).timestamp() * 1000)
    bars = random_bars(start, 5_000, MINUTE_MS, 5)
    await store(runtime, ref, bars)
    await runtime.services.bars.refresh_rollups(ref)
    first, last = bars.column("ts")[0].as_py(), bars.column("ts")[-1].as_py()
    await runtime.services.catalog.upsert(
        DatasetRecord(
            table=f"{ref.symbol.lower()}_1minute", symbol=ref.symbol, timespan="minute", multiplier=1,
            adjusted=True, source="synthetic", start_date=first.date(), end_date=last.date(),
            record_count=bars.num_rows, first_bar=first, last_bar=last,
        )
    )  # fmt: skip
    return ref


async def assert_equals_full_recompute(
    runtime: Runtime, ref: SeriesKey, width: str, session: Session, specs
) -> None:
    """What is stored for each spec equals computing it again from nothing."""
    services = runtime.services
    extended = await services.indicators.current(ref, width, session, specs)
    assert {state.how for state in extended} <= {"extended", "reused"}, [
        s.spec.text for s in extended if s.how == "computed"
    ]
    buckets = await services.bars.bucket_series(ref, width, session)
    for spec, state in zip(specs, extended, strict=True):
        ts, values = await services.indicators.read(state, -(2**62), 2**62)
        assert ts.tolist() == buckets.column("ts").cast(pa.int64()).to_pylist(), spec.text
        assert state.rows == buckets.num_rows
        full = (
            compute(spec, BucketSeries.of(buckets), OwnContext(width=width, session=session))
            if spec.own
            else direct(spec, buckets)
        )
        for output, got, want in zip(spec.outputs, values, full, strict=True):
            np.testing.assert_allclose(
                got,
                want,
                rtol=1e-9,
                atol=1e-9 * np.nanmax(np.abs(want)),
                equal_nan=True,
                err_msg=f"{spec.text}:{output}",
            )
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want))


async def test_new_bars_extend_the_stored_outputs_equal_to_a_full_recompute(runtime: Runtime):
    services = runtime.services
    ref = new_ref()
    start, step = 1_706_745_600_000, 15 * MINUTE_MS  # from 2024-02-01: months of bars before the change
    await store(runtime, ref, random_bars(start, 6_000, step, 6))
    specs = [
        parse_indicator(text) for text in (*LIVE_SIX, "kama", "adx", "obv", "cdlengulfing", "zscore(30)")
    ]
    for width in ("1m", "15m"):
        first = await services.indicators.current(ref, width, "extended", specs)
        assert {state.how for state in first} == {"computed"}
    # a day later, more minutes arrive (as a fetch, an import or the live stream writes them)
    later = random_bars(start + 12_000 * step, 500, MINUTE_MS, 7)
    await store(runtime, ref, later)
    for width in ("1m", "15m"):
        await assert_equals_full_recompute(runtime, ref, width, "extended", specs)
    # one live minute: the last 15m bucket changes and a new minute bucket appears
    minute = random_bars(start + 12_000 * step + 1_007 * MINUTE_MS, 1, MINUTE_MS, 8)
    await store(runtime, ref, minute)
    span = (minute.column("ts")[0].as_py(), minute.column("ts")[0].as_py())
    for width in ("1m", "15m"):
        states = await services.indicators.current(ref, width, "extended", specs, written=span)
        width_ms = BarWidth.of(width).fixed_ms
        moment = int(minute.column("ts")[0].as_py().timestamp() * 1000)
        assert {state.changed_from for state in states} == {moment // width_ms * width_ms}  # not its month
        await assert_equals_full_recompute(runtime, ref, width, "extended", specs)


async def test_stable_from_is_the_lookback_plus_the_measured_settling(runtime: Runtime):
    services = runtime.services
    ref = new_ref("1d")
    await store(runtime, ref, random_bars(1_577_836_800_000, 600, DAY_MS, 9))
    sma, ema = parse_indicator("sma(20)"), parse_indicator("ema(20)")
    states = await services.indicators.current(ref, "1d", "extended", [sma, ema])
    buckets = (await services.bars.bucket_series(ref, "1d")).column("ts").cast(pa.int64()).to_pylist()
    assert states[0].stable_from == buckets[19]  # a window average is stable at its first value
    assert stable_index(ema) > ema.lookback + 20  # the SMA seed of an EMA fades over several periods
    assert states[1].stable_from == buckets[stable_index(ema)]
    short = new_ref("1d")
    await store(runtime, short, random_bars(1_577_836_800_000, 10, DAY_MS, 10))
    (rsi,) = await services.indicators.current(short, "1d", "extended", [parse_indicator("rsi(14)")])
    assert (rsi.rows, rsi.stable_from) == (10, None)
