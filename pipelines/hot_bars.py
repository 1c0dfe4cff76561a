"""A hot cache for chart slices: recently charted months of bars and whole rollup series, in memory.

A query's fixed cost in ClickHouse is most of a chart request's time once rollups shrink the data
it reads. Panning and zooming revisit the same series, so this keeps, per series version (a change
makes every older entry unreachable):

* whole months of the stored bars, for narrow windows and for the edges of wide ones;
* each rollup series whole (30-minute and daily buckets: a few thousand rows a decade), for the
  middle of wide windows;

and builds slices from them with the same staged search and the same New York bucketing as the
SQL path (:func:`warehouse.clickhouse.bars.staged_slice`), so both answer alike. Windows that
would need more than a few months of fine bars go to ClickHouse.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.bars import CHART_SLICE_ARROW_SCHEMA, TS_TYPE
from schemas.values import BarWidth
from warehouse.clickhouse.bars import BarStore, SeriesRef, Slice, plan_levels, reduce_runs, staged_slice
from warehouse.clickhouse.buckets import EXCHANGE_TZ
from warehouse.clickhouse.rollups import REGULAR_MINUTES, cut_points, epoch_ms, rollup_source

DEFAULT_MAX_BYTES: Final = 256 * 1024 * 1024
MAX_MONTHS: Final = 3
"""Most months of fine bars one slice may read from memory; more go to ClickHouse."""

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MINUTE_MS: Final = 60_000
_HOUR_MS: Final = 3_600_000
_DAY_MS: Final = 86_400_000
_PRICES: Final = ("open", "high", "low", "close", "volume")
_LOCAL: Final = pa.timestamp("ms", tz=EXCHANGE_TZ)
_Array = np.ndarray[Any, Any]
_Key = tuple[Any, ...]


class _NotHot(Exception):
    """This slice needs more fine bars than the cache reads; ClickHouse answers it."""


class _Block:
    """Bars sorted by time: UTC milliseconds, New York minute of day, OHLCV."""

    def __init__(self, table: pa.Table) -> None:
        ts = table.column("ts").cast(TS_TYPE)
        self.ts: _Array = ts.cast(pa.int64()).to_numpy()
        self.minute_of_day: _Array = (_local_ms(self.ts) // _MINUTE_MS) % 1440
        self.values: dict[str, _Array] = {
            name: np.asarray(table.column(name).to_numpy(), dtype=np.float64) for name in _PRICES
        }
        self.nbytes = self.ts.nbytes * 7

    def between(self, lo: int, hi: int) -> tuple[_Array, dict[str, _Array], _Array]:
        """Rows with ``lo <= ts < hi``."""
        first, last = int(np.searchsorted(self.ts, lo, "left")), int(np.searchsorted(self.ts, hi, "left"))
        cut = slice(first, last)
        return (
            self.ts[cut],
            {name: column[cut] for name, column in self.values.items()},
            self.minute_of_day[cut],
        )


class HotBars:
    """Months of bars and whole rollup series of recently charted series, least recently used evicted."""

    def __init__(self, bars: BarStore, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.bars = bars
        self.max_bytes = max_bytes
        self._blocks: OrderedDict[_Key, _Block] = OrderedDict()
        self._bytes = 0
        self._loading: dict[_Key, asyncio.Future[_Block]] = {}

    async def chart_slice(
        self,
        ref: SeriesRef,
        version: str,
        timeframe: str,
        start: dt.datetime,
        end: dt.datetime,
        max_points: int,
        *,
        regular_session: bool,
        widths: tuple[str, ...] | None,
    ) -> Slice | None:
        """The slice :meth:`BarStore.chart_slice` would answer, or None when this cache does not serve it."""
        if self.max_bytes <= 0 or not BarWidth.of(ref.series).is_intraday:
            return None
        levels = plan_levels(ref.series, timeframe, widths, start, end, max_points)
        lo, hi = epoch_ms(start), epoch_ms(end) + 1

        async def stage(index: int, top: int) -> tuple[pa.Table, bool]:
            base = levels.ladder[index]
            source = rollup_source(ref.series, base)
            mid_lo = mid_hi = hi
            if source is not None:
                cut_lo, cut_hi = cut_points(source, start, end)
                if cut_lo < cut_hi:
                    mid_lo, mid_hi = epoch_ms(cut_lo), epoch_ms(cut_hi)
            pieces = [await self._bars(ref, version, lo, mid_lo, regular_session)]
            if mid_lo < mid_hi:
                assert source is not None
                pieces.append(await self._rollups(ref, version, source, mid_lo, mid_hi, regular_session))
                pieces.append(await self._bars(ref, version, mid_hi, hi, regular_session))
            ts = np.concatenate([piece[0] for piece in pieces])
            values = {name: np.concatenate([piece[1][name] for piece in pieces]) for name in _PRICES}
            if base != ref.series:
                ts, values = reduce_runs(bucket_keys(base, ts), values)
            columns: dict[str, pa.Array] = {"ts": pa.array(ts, TS_TYPE)} | {
                name: pa.array(column, pa.float64()) for name, column in values.items()
            }
            for code in levels.ladder[index + 1 : top + 1]:
                columns[f"b_{code}"] = pa.array(bucket_keys(code, ts), TS_TYPE)
            table = pa.table(columns)
            return table.slice(0, levels.cap), table.num_rows > levels.cap

        try:
            return await staged_slice(levels, ref.series, max_points, stage)
        except _NotHot:
            return None

    async def _bars(
        self, ref: SeriesRef, version: str, lo: int, hi: int, regular: bool
    ) -> tuple[_Array, dict[str, _Array]]:
        """Stored bars with ``lo <= ts < hi``, from whole months held in memory."""
        if hi <= lo:
            return np.empty(0, np.int64), {name: np.empty(0, np.float64) for name in _PRICES}
        months = _months(lo, hi - 1)
        parts = [
            (
                await self._block(
                    (ref, version, "bars", year, month), _month_loader(self.bars, ref, year, month)
                )
            )
            for year, month in months
        ]
        return _pick([part.between(lo, hi) for part in parts], regular)

    async def _rollups(
        self, ref: SeriesRef, version: str, width: str, lo: int, hi: int, regular: bool
    ) -> tuple[_Array, dict[str, _Array]]:
        """Rollup rows with ``lo <= ts < hi``: daily rows per session, 30-minute ones filtered by start."""
        session = "regular" if regular and width == "1d" else "extended"

        async def load() -> pa.Table:
            await self.bars.refresh_rollups(ref)  # once per version: this block is keyed by it
            return await self.bars.rollup_series(ref, width, session)

        block = await self._block((ref, version, "rollup", width, session), load)
        return _pick([block.between(lo, hi)], regular and width != "1d")

    async def _block(self, key: _Key, load: Callable[[], Awaitable[pa.Table]]) -> _Block:
        cached = self._blocks.get(key)
        if cached is not None:
            self._blocks.move_to_end(key)
            return cached
        pending = self._loading.get(key)
        if pending is not None:
            return await pending
        future: asyncio.Future[_Block] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            block = _Block(await load())
            future.set_result(block)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it as lost
            raise
        finally:
            del self._loading[key]
        self._blocks[key] = block
        self._bytes += block.nbytes
        while self._bytes > self.max_bytes and len(self._blocks) > 1:
            _, evicted = self._blocks.popitem(last=False)
            self._bytes -= evicted.nbytes
        return block


def bucket_keys(code: str, ts: _Array) -> _Array:
    """UTC milliseconds of the New York aligned ``code`` bucket holding each of ``ts`` (as SQL does).

    Widths that divide an hour align the same in UTC (New York's offsets are whole hours); wider
    ones are cut in local time and their local starts converted back to UTC.
    """
    width = BarWidth.of(code)
    fixed = width.fixed_ms
    if fixed and _HOUR_MS % fixed == 0:
        keys: _Array = ts - ts % fixed
        return keys
    local = _local_ms(ts)
    if fixed and fixed < _DAY_MS:
        start = local - local % fixed
    else:
        days = local // _DAY_MS
        if code == "1d":
            start_days = days
        elif code == "1w":
            start_days = days - (days + 3) % 7  # 1970-01-01 was a Thursday
        else:
            months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
            step = {"1M": 1, "3M": 3, "12M": 12}[code]
            start_days = (
                (months - months % step).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
            )
        start = start_days * _DAY_MS
    return _utc_of_local(start)


def _local_ms(ts: _Array) -> _Array:
    """New York wall-clock time of UTC milliseconds, as milliseconds."""
    if len(ts) == 0:
        return ts
    local: _Array = pc.local_timestamp(pa.array(ts, TS_TYPE).cast(_LOCAL)).cast(pa.int64()).to_numpy()
    return local


def _utc_of_local(local: _Array) -> _Array:
    """UTC milliseconds of New York wall-clock milliseconds (the earlier of an ambiguous pair)."""
    if len(local) == 0:
        return local
    unique, inverse = np.unique(local, return_inverse=True)
    naive = pa.array(unique, pa.timestamp("ms"))
    aware = pc.assume_timezone(naive, EXCHANGE_TZ, ambiguous="earliest", nonexistent="earliest")
    utc: _Array = aware.cast(pa.int64()).to_numpy()[inverse]
    return utc


def _pick(
    parts: list[tuple[_Array, dict[str, _Array], _Array]], regular: bool
) -> tuple[_Array, dict[str, _Array]]:
    """Concatenate row ranges, keeping only rows starting 09:30–16:00 New York when ``regular``."""
    ts = np.concatenate([part[0] for part in parts])
    values = {name: np.concatenate([part[1][name] for part in parts]) for name in _PRICES}
    if regular:
        minute = np.concatenate([part[2] for part in parts])
        keep = (minute >= REGULAR_MINUTES[0]) & (minute <= REGULAR_MINUTES[1])
        return ts[keep], {name: column[keep] for name, column in values.items()}
    return ts, values


def _month_loader(bars: BarStore, ref: SeriesRef, year: int, month: int) -> Callable[[], Awaitable[pa.Table]]:
    async def load() -> pa.Table:
        first = dt.datetime(year, month, 1, tzinfo=dt.UTC)
        after = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=dt.UTC)
        table = await bars.export_chunk(ref, first, after - dt.timedelta(milliseconds=1), ("ts", *_PRICES))
        return table.cast(CHART_SLICE_ARROW_SCHEMA)

    return load


def _months(lo: int, hi: int) -> list[tuple[int, int]]:
    """The UTC calendar months from the one holding ``lo`` to the one holding ``hi`` (milliseconds)."""
    first, last = _EPOCH + dt.timedelta(milliseconds=lo), _EPOCH + dt.timedelta(milliseconds=hi)
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    if count > MAX_MONTHS:
        raise _NotHot
    return [
        (first.year + (first.month - 1 + step) // 12, (first.month - 1 + step) % 12 + 1)
        for step in range(count)
    ]
