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
import math
import time
from collections.abc import Sequence
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
from warehouse.clickhouse.bars import BarStore, epoch_ms
from warehouse.clickhouse.rollups import REGULAR_MINUTES

MIN_INTERVAL_S: Final = 1.0
"""Fewest seconds between provisional updates of one series (a busy symbol trades many times a second)."""


class Tail(msgspec.Struct, frozen=True, kw_only=True):
    """The last buckets one stored output was computed over, and the offsets to its stored values."""

    state: OutputState
    series: BucketSeries
    offsets: list[float]
    length: int
    """Buckets kept: enough for the last value to equal a computation over the whole series."""
    last: list[float | None]
    """The output's values at the last bucket (see :func:`_tail`)."""

    def agrees(self, stored: Sequence[float | None]) -> bool:
        """Whether :attr:`last` is ``stored`` (to 1e-9, as extensions agree)."""
        return len(self.last) == len(stored) and all(
            (a is None and b is None)
            or (a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12))
            for a, b in zip(self.last, stored, strict=True)
        )


def _tail(
    state: OutputState,
    series: BucketSeries,
    length: int,
    *,
    offsets: list[float] | None = None,
    anchor: list[float | None] | None = None,
) -> Tail:
    """A tail over ``series``: with ``offsets``, or with those that make its last values ``anchor``."""
    outputs = compute(state.spec, series, _context(state.key))
    if offsets is None:
        offsets = _offsets(outputs, anchor or [None] * len(outputs))
    last = [
        None if not np.isfinite(out[-1]) else float(out[-1] + offset)
        for out, offset in zip(outputs, offsets, strict=True)
    ]
    return Tail(state=state, series=series, offsets=offsets, length=length, last=last)


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
        self._tails[key] = _tail(state, series.tail(max(0, len(series) - count)), count, anchor=stored_last)

    def kept(self, key: OutputKey) -> Tail | None:
        """The tail kept for ``key``, if any."""
        return self._tails.get(key)

    def advance(self, ref: SeriesKey, bars: pa.Table) -> dict[OutputKey, IndicatorCalculated]:
        """Fold closed minute ``bars`` of ``ref`` into the kept tails; the new values of each output.

        Computed in memory, from the tails alone (no store is read), so charts have them within
        milliseconds of the bar; the live recorder stores the extension right after, and the stored
        values agree with these (the tails are as long as an extension's checked warm-up).
        """
        rows = bars.to_pylist()
        events = {}
        for key, tail in list(self._tails.items()):
            if (key.symbol, key.series, key.adjusted) != (ref.symbol, ref.series, ref.adjusted):
                continue
            series, added, last = tail.series, 0, None
            for row in rows:
                at = epoch_ms(row["ts"])
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
            moved = _tail(state, series, tail.length, offsets=tail.offsets)
            if len(series) > 4 * tail.length:  # cut it short again, anchored to the values it gives now
                moved = _tail(state, series.tail(len(series) - tail.length), tail.length, anchor=moved.last)
            self._tails[key] = moved
            events[key] = msgspec.structs.replace(
                state.event(), live=True, points=[IndicatorPoint(ts=last, values=moved.last)]
            )
        return events

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
        at = epoch_ms(row["ts"])
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
            values = _tail(tail.state, merged, tail.length, offsets=tail.offsets).last
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
    """Whether a bar starting at ``at_ms`` is one the regular-session rollups and slices keep."""
    local = dt.datetime.fromtimestamp(at_ms / 1000, NEW_YORK)
    return REGULAR_MINUTES[0] <= local.hour * 60 + local.minute <= REGULAR_MINUTES[1]


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
