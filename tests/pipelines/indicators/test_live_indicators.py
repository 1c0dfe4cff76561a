"""Live indicators: a closed minute extends the stored outputs, the forming one moves them, as TA-Lib says."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from api.runtime import Runtime
from pipelines.indicators.specs import parse_indicator
from pipelines.ingest.sources.feeds import LiveBars, bars_batch
from schemas.bars import SeriesKey
from schemas.indicators import IndicatorCalculated
from tests.pipelines.indicators.test_outputs import LIVE_SIX, MINUTE_MS, direct, random_bars
from tests.pipelines.ingest.test_live import T0, listening, recorder

REF = SeriesKey.of(symbol="LIV", series="1m", adjusted=True)
WIDTHS = ("1m", "5m")


def close_to(got: list[float | None], want: list[float]) -> bool:
    return bool(
        np.allclose(
            np.array(got, dtype=float), np.array(want, dtype=float), rtol=1e-9, atol=1e-9, equal_nan=True
        )
    )


async def test_closed_minutes_extend_and_the_forming_minute_moves_stored_indicators(clean: Runtime):
    services = clean.services
    live = recorder(clean, indicators=services.indicators)
    history = random_bars(T0 - 6_000 * MINUTE_MS, 3_000, MINUTE_MS, 11)
    await live.record([LiveBars(symbol="LIV", bars=history)])
    specs = [parse_indicator(text) for text in (*LIVE_SIX, "obv")]
    for width in WIDTHS:
        await services.indicators.current(REF, width, "extended", specs)
    last = float(history.column("close")[-1].as_py())
    closed = one_bar(T0, last * 1.002, 1_500.0)
    forming = one_bar(T0 + MINUTE_MS, last * 0.997, 700.0)
    async with listening(clean) as got:
        await live.record([LiveBars(symbol="LIV", bars=closed)])
        await live.record([LiveBars(symbol="LIV", bars=forming, closed=False)])
    events = [event for event in got if isinstance(event, IndicatorCalculated)]
    stored = [event for event in events if not event.provisional]
    moving = [event for event in events if event.provisional]
    assert sorted((e.timeframe, e.spec) for e in stored) == sorted((w, s.text) for w in WIDTHS for s in specs)
    assert sorted((e.timeframe, e.spec) for e in moving) == sorted((w, s.text) for w in WIDTHS for s in specs)
    by_spec = {spec.text: spec for spec in specs}
    for event in stored:  # the closed minute's bucket, as a full recompute over the stored series
        width_ms = 5 * MINUTE_MS if event.timeframe == "5m" else MINUTE_MS
        assert event.live
        assert event.points[-1].ts == T0 // width_ms * width_ms
        buckets = await services.bars.bucket_series(REF, event.timeframe)
        want = [values[-1] for values in direct(by_spec[event.spec], buckets)]
        assert close_to(event.points[-1].values, want), (event.timeframe, event.spec, event.points[-1])
    # the forming minute, as if it were stored: TA-Lib over the series with it folded in
    with_forming = pa.concat_tables([pa.Table.from_batches([history]), pa.Table.from_batches([closed]),
                                     pa.Table.from_batches([forming])])  # fmt: skip
    for event in moving:
        buckets = await _buckets_with(clean, with_forming, event.timeframe)
        want = [values[-1] for values in direct(by_spec[event.spec], buckets)]
        assert event.points[-1].ts == buckets.column("ts").cast(pa.int64())[-1].as_py()
        assert close_to(event.points[-1].values, want), (event.timeframe, event.spec, event.points[-1])
    # nothing of the forming minute was stored
    assert (await services.bars.bucket_series(REF, "1m")).column("ts").cast(pa.int64())[-1].as_py() == T0

    # the next closed minutes are announced from memory (once each), then stored: the same values
    for step, close in ((1, last * 0.995), (2, last * 1.004)):
        minute = one_bar(T0 + step * MINUTE_MS, close, 900.0 + step)
        async with listening(clean) as got:
            await live.record([LiveBars(symbol="LIV", bars=minute)])
        announced = [event for event in got if isinstance(event, IndicatorCalculated)]
        assert sorted((e.timeframe, e.spec) for e in announced) == sorted(
            (w, s.text) for w in WIDTHS for s in specs
        )
        for event in announced:
            buckets = await services.bars.bucket_series(REF, event.timeframe)
            want = [values[-1] for values in direct(by_spec[event.spec], buckets)]
            assert event.points[-1].ts == buckets.column("ts").cast(pa.int64())[-1].as_py()
            assert close_to(event.points[-1].values, want), (
                step,
                event.timeframe,
                event.spec,
                event.points[-1],
            )
            (state,) = await services.indicators.current(
                REF, event.timeframe, "extended", [by_spec[event.spec]]
            )
            assert state.how == "reused"  # stored as well, by the time the batch is recorded


def one_bar(ts: int, close: float, volume: float) -> pa.RecordBatch:
    return bars_batch(
        [ts], [close * 0.999], [close * 1.001], [close * 0.998], [close], [volume], [None], [None]
    )


async def _buckets_with(runtime: Runtime, bars: pa.Table, width: str) -> pa.Table:
    """``bars`` cut into ``width`` buckets by the bar store itself (stored under a scratch symbol)."""
    scratch = SeriesKey.of(symbol=f"LIVX{width}", series="1m", adjusted=True)
    await runtime.services.bars.insert(scratch, "synthetic", bars)
    return await runtime.services.bars.bucket_series(scratch, width)
