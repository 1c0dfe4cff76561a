"""Indicator values of the minute in progress: stored outputs' tails, moved with the live candle.

The stored outputs only ever cover closed bars. While a minute is still forming, a chart's last
candle moves with every trade, and its indicators should too. After each closed minute the live
recorder keeps, per stored output of the series, the last buckets it was computed over
(:class:`Tail`); an open bar is merged into the last bucket (or starts a new one), the indicator
is run over that short tail, and the value of the last bucket is announced as a *provisional*
``indicator_calculated`` event. Nothing of it is stored: the closed minute is, and recomputed.

A tail is long enough that its last value equals a computation over the whole series (the same
warm-up the extensions check, see :mod:`pipelines.indicators.outputs`); a running total (OBV)
carries the constant offset to the stored values.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Final

import msgspec
import numpy as np
import pyarrow as pa

from pipelines.charts.hot_cache import bucket_keys
from pipelines.indicators.outputs import CHECKED, OutputState
from pipelines.indicators.own import OwnContext
from pipelines.indicators.specs import BucketSeries, Values, compute, stable_index
from schemas.bars import SeriesKey
from schemas.indicators import IndicatorCalculated, IndicatorPoint, OutputKey
from schemas.values import NEW_YORK, BarWidth
from warehouse.clickhouse.bars import BarStore

MIN_INTERVAL_S: Final = 1.0
"""Fewest seconds between provisional updates of one series (a busy symbol trades many times a second)."""
_REGULAR_OPEN: Final = dt.time(9, 30)
_REGULAR_CLOSE: Final = dt.time(16, 0)


class Tail(msgspec.Struct, frozen=True, kw_only=True):
    """The last buckets one stored output was computed over, and the offsets to its stored values."""

    state: OutputState
    series: BucketSeries
    offsets: list[float]
    length: int
    """Buckets kept: enough for the last value to equal a computation over the whole series."""

    @property
    def last(self) -> list[float | None]:
        """The kept output's values at its last bucket."""
        outputs = compute(self.state.spec, self.series, _context(self.state.key))
        return [
            None if not np.isfinite(out[-1]) else float(out[-1] + offset)
            for out, offset in zip(outputs, self.offsets, strict=True)
        ]


class LiveTails:
    """Keeps tails of the stored outputs over live series; computes the open minute's values."""

    def __init__(self, bars: BarStore) -> None:
        self.bars = bars
        self._tails: dict[OutputKey, Tail] = {}
        self._last: dict[SeriesKey, float] = {}

    async def keep(self, state: OutputState, stored_last: list[float | None]) -> None:
        """Read and keep the tail of ``state``'s series (``stored_last``: its last bucket's stored values)."""
        key, spec = state.key, state.spec
        if state.last_ts is None:
            return
        count = max(2 * stable_index(spec) + CHECKED, 256)
        width_ms = BarWidth.of(key.width).approx_ms
        reach = count * width_ms * 4 + 10 * 86_400_000
        start = dt.datetime.fromtimestamp((state.last_ts - reach) / 1000, dt.UTC)
        ref = SeriesKey.of(symbol=key.symbol, series=key.series, adjusted=key.adjusted)
        table = await self.bars.bucket_series(ref, key.width, key.session, start=start)
        series = BucketSeries.of(table)
        if len(series) == 0 or int(series.ts[-1]) != state.last_ts:
            self._tails.pop(key, None)
            return
        series = series.tail(max(0, len(series) - count))
        offsets = _offsets(compute(spec, series, _context(key)), stored_last)
        self._tails[key] = Tail(state=state, series=series, offsets=offsets, length=count)

    def kept(self, key: OutputKey) -> Tail | None:
        """The tail kept for ``key``, if any."""
        return self._tails.get(key)

    def advance(self, ref: SeriesKey, bars: pa.Table) -> list[IndicatorCalculated]:
        """Fold closed minute ``bars`` of ``ref`` into the kept tails; the new values of each output.

        Computed in memory, from the tails alone (no store is read), so charts have them within
        milliseconds of the bar; the live recorder stores the extension right after, and the stored
        values agree with these (the tails are as long as an extension's checked warm-up).
        """
        rows = bars.to_pylist()
        events = []
        for key, tail in list(self._tails.items()):
            if (key.symbol, key.series, key.adjusted) != (ref.symbol, ref.series, ref.adjusted):
                continue
            series, added, last = tail.series, 0, None
            for row in rows:
                at = int(row["ts"].timestamp() * 1000)
                if key.session == "regular" and not _in_regular_session(at):
                    continue
                bucket = int(bucket_keys(key.width, np.array([at], dtype=np.int64))[0])
                merged = _merged(series, bucket, row)
                if merged is None:
                    continue
                added += len(merged) - len(series)
                series, last = merged, bucket
            if last is None:
                continue
            state = msgspec.structs.replace(tail.state, rows=tail.state.rows + added, last_ts=last)
            moved = Tail(state=state, series=series, offsets=tail.offsets, length=tail.length)
            if len(series) > 4 * tail.length:  # cut it short again, anchored to the values it gives now
                short = series.tail(len(series) - tail.length)
                offsets = _offsets(compute(state.spec, short, _context(key)), moved.last)
                moved = Tail(state=state, series=short, offsets=offsets, length=tail.length)
            self._tails[key] = moved
            events.append(
                msgspec.structs.replace(
                    state.event(), live=True, points=[IndicatorPoint(ts=last, values=moved.last)]
                )
            )
        return events

    def forget(self, ref: SeriesKey) -> None:
        """Drop the tails of ``ref`` (its outputs were recomputed or deleted)."""
        for key in [
            k
            for k in self._tails
            if (k.symbol, k.series, k.adjusted) == (ref.symbol, ref.series, ref.adjusted)
        ]:
            del self._tails[key]

    def provisional(self, ref: SeriesKey, bar: pa.Table) -> list[IndicatorCalculated]:
        """Events with each kept output's value at the bucket holding the open ``bar`` (one row).

        At most one batch per :data:`MIN_INTERVAL_S` per series; none for a bar outside the
        regular session of a regular-session output.
        """
        now = time.monotonic()
        if now - self._last.get(ref, 0.0) < MIN_INTERVAL_S or bar.num_rows == 0:
            return []
        self._last[ref] = now
        row = bar.slice(bar.num_rows - 1).to_pylist()[0]
        at = int(row["ts"].timestamp() * 1000)
        events = []
        for key, tail in list(self._tails.items()):
            if (key.symbol, key.series, key.adjusted) != (ref.symbol, ref.series, ref.adjusted):
                continue
            if key.session == "regular" and not _in_regular_session(at):
                continue
            bucket = int(bucket_keys(key.width, np.array([at], dtype=np.int64))[0])
            merged = _merged(tail.series, bucket, row)
            if merged is None:
                continue
            values = msgspec.structs.replace(tail, series=merged).last
            event = msgspec.structs.replace(
                tail.state.event(),
                live=True,
                provisional=True,
                points=[IndicatorPoint(ts=bucket, values=values)],
            )
            events.append(event)
        return events


def _offsets(outputs: list[Values], wanted: list[float | None]) -> list[float]:
    """What to add to each output's last value to give ``wanted`` (0 where it already does).

    Nonzero only for running totals (OBV, AD), whose level counts from where the tail starts.
    """
    return [
        0.0
        if want is None or not np.isfinite(out[-1]) or np.isclose(out[-1], want, rtol=1e-9)
        else want - out[-1]
        for out, want in zip(outputs, wanted, strict=True)
    ]


def _context(key: OutputKey) -> OwnContext:
    return OwnContext(width=key.width, session=key.session)


def _in_regular_session(at_ms: int) -> bool:
    local = dt.datetime.fromtimestamp(at_ms / 1000, NEW_YORK).time()
    return _REGULAR_OPEN <= local < _REGULAR_CLOSE


def _merged(series: BucketSeries, bucket: int, row: dict[str, Any]) -> BucketSeries | None:
    """``series`` with the open bar in its bucket: folded into the last bucket, or a new one after it."""
    last = int(series.ts[-1])
    if bucket < last:
        return None  # a late bar of an earlier bucket: the closed minute will bring it

    def floats(values: Values, new: float) -> Values:
        out = values.copy()
        out[-1] = new
        return out

    if bucket == last:
        return BucketSeries(
            ts=series.ts,
            open=series.open,
            high=floats(series.high, max(float(series.high[-1]), float(row["high"]))),
            low=floats(series.low, min(float(series.low[-1]), float(row["low"]))),
            close=floats(series.close, float(row["close"])),
            volume=floats(series.volume, float(series.volume[-1]) + float(row["volume"])),
        )
    return BucketSeries(
        ts=np.append(series.ts, np.int64(bucket)),
        open=np.append(series.open, float(row["open"])),
        high=np.append(series.high, float(row["high"])),
        low=np.append(series.low, float(row["low"])),
        close=np.append(series.close, float(row["close"])),
        volume=np.append(series.volume, float(row["volume"])),
    )
