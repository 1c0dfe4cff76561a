"""A hot cache for chart slices: recently charted months of bars and years of rollups, in memory.

A query's fixed cost in ClickHouse is most of a chart request's time once rollups shrink the data
it reads. Panning and zooming revisit the same series, so this keeps:

* whole UTC months of the stored bars, for narrow windows and for the edges of wide ones, each
  keyed by its month's version;
* whole UTC years of each rollup series (30-minute and daily buckets: some thousands of rows a year),
  for the middle of wide windows, each keyed by its year's version;

A change makes the entries of the months it touched unreachable (see
:class:`pipelines.series.versions.SeriesVersion`), so a live minute costs one month's reload, not the
series'. The blocks one request misses are loaded with one query. Slices are built from them
with the same staged search and the same New York bucketing as the SQL path
(:mod:`warehouse.clickhouse.slice_search`), so both answer alike.

The cache declines a slice, and ClickHouse answers it, for exactly these reasons
(:class:`Decline`):

* ``off`` — the cache holds nothing (``max_bytes`` is 0: ``K2Q_HOT_CACHE_MB=0``);
* ``not-intraday`` — the series is daily or wider: its slices are small queries already;
* ``too-many-months`` — a stage of the search needs fine bars from more than :data:`MAX_MONTHS`
  UTC months: a window over more months than that at a width no rollup serves (narrower than
  30 minutes, e.g. sparse bars drawn at 1m). Widths rollups serve read fine bars only at the
  window's edges, so they never decline.

Every other slice of an intraday series is answered from memory (:meth:`HotBars.answer` says
which of these declined a slice).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Final

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.series.versions import SeriesVersion, utc_months
from schemas.bars import CHART_SLICE_ARROW_SCHEMA, TS_TYPE, SeriesKey, SliceQuery
from schemas.values import EXCHANGE_TZ, BarWidth
from warehouse.clickhouse.bars import BarStore
from warehouse.clickhouse.rollups import REGULAR_MINUTES, cut_points, epoch_ms, rollup_source
from warehouse.clickhouse.slice_search import Slice, reduce_runs, search

DEFAULT_MAX_BYTES: Final = 256 * 1024 * 1024
MAX_MONTHS: Final = 3
"""Most months of fine bars one slice may read from memory; more go to ClickHouse."""

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MINUTE_MS: Final = 60_000
_HOUR_MS: Final = 3_600_000
_DAY_MS: Final = 86_400_000
_MS: Final = dt.timedelta(milliseconds=1)
_PRICES: Final = ("open", "high", "low", "close", "volume")
_LOCAL: Final = pa.timestamp("ms", tz=EXCHANGE_TZ)
_Array = np.ndarray[Any, Any]
_Key = tuple[Any, ...]


class Decline(enum.StrEnum):
    """Why the cache left a slice to ClickHouse (the only reasons it does)."""

    OFF = "off"
    """The cache holds nothing (``max_bytes`` is 0)."""
    NOT_INTRADAY = "not-intraday"
    """The series is daily or wider."""
    TOO_MANY_MONTHS = "too-many-months"
    """A stage needs fine bars from more than :data:`MAX_MONTHS` UTC months."""


class Declined(msgspec.Struct, frozen=True, kw_only=True):
    """A slice the cache left to ClickHouse, and why."""

    reason: Decline
    width: str | None = None
    """``too-many-months``: the width of the stage that needed them."""
    months: int = 0
    """``too-many-months``: how many UTC months of fine bars that stage needed."""


class _NotHot(Exception):
    """This slice needs more fine bars than the cache reads; ClickHouse answers it."""

    def __init__(self, months: int) -> None:
        super().__init__(months)
        self.months = months
        self.width: str | None = None


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


def _stage_table(
    pieces: list[tuple[_Array, dict[str, _Array]]], series: str, base: str, wider: tuple[str, ...], cap: int
) -> tuple[pa.Table, bool]:
    """The pieces of a window as one table at width ``base``, with each row's bucket at every ``wider``."""
    ts = np.concatenate([piece[0] for piece in pieces])
    values = {name: np.concatenate([piece[1][name] for piece in pieces]) for name in _PRICES}
    if base != series:
        ts, values = reduce_runs(bucket_keys(base, ts), values)
    columns: dict[str, pa.Array] = {"ts": pa.array(ts, TS_TYPE)} | {
        name: pa.array(column, pa.float64()) for name, column in values.items()
    }
    for code in wider:
        columns[f"b_{code}"] = pa.array(bucket_keys(code, ts), TS_TYPE)
    table = pa.table(columns)
    return table.slice(0, cap), table.num_rows > cap


class HotBars:
    """Months of bars and years of rollups of recently charted series, least recently used evicted."""

    def __init__(self, bars: BarStore, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.bars = bars
        self.max_bytes = max_bytes
        self._blocks: OrderedDict[_Key, _Block] = OrderedDict()
        self._bytes = 0
        self._loading: dict[_Key, asyncio.Future[_Block]] = {}

    async def chart_slice(self, query: SliceQuery, version: SeriesVersion) -> Slice | None:
        """The slice :meth:`BarStore.chart_slice` would answer, or None when this cache does not serve it."""
        answer = await self.answer(query, version)
        return answer if isinstance(answer, Slice) else None

    async def answer(self, query: SliceQuery, version: SeriesVersion) -> Slice | Declined:
        """The slice :meth:`BarStore.chart_slice` would answer for ``query`` at ``version``, or why not.

        Raises:
            InvalidQuery: the series is not fine enough for the query's timeframe.
        """
        if self.max_bytes <= 0:
            return Declined(reason=Decline.OFF)
        if not BarWidth.of(query.ref.series).is_intraday:
            return Declined(reason=Decline.NOT_INTRADAY)
        ref, start, end, regular = query.ref, query.start, query.end, query.regular
        lo, hi = epoch_ms(start), epoch_ms(end) + 1

        async def stage(base: str, wider: tuple[str, ...], cap: int) -> tuple[pa.Table, bool]:
            source = rollup_source(ref.series, base)
            mid_lo = mid_hi = hi
            if source is not None:
                cut_lo, cut_hi = cut_points(source, start, end)
                if cut_lo < cut_hi:
                    mid_lo, mid_hi = epoch_ms(cut_lo), epoch_ms(cut_hi)
            try:
                pieces = [await self._bars(ref, version, lo, mid_lo, regular)]
                if mid_lo < mid_hi:
                    assert source is not None
                    pieces.append(await self._rollups(ref, version, source, mid_lo, mid_hi, regular))
                    pieces.append(await self._bars(ref, version, mid_hi, hi, regular))
            except _NotHot as exc:
                exc.width = base
                raise
            # The arithmetic over up to ``cap`` rows runs in a thread: the event loop stays free.
            return await asyncio.to_thread(_stage_table, pieces, ref.series, base, wider, cap)

        try:
            return await search(query, stage)
        except _NotHot as exc:
            return Declined(reason=Decline.TOO_MANY_MONTHS, width=exc.width, months=exc.months)

    async def _bars(
        self, ref: SeriesKey, version: SeriesVersion, lo: int, hi: int, regular: bool
    ) -> tuple[_Array, dict[str, _Array]]:
        """Stored bars with ``lo <= ts < hi``, from whole months held in memory."""
        if hi <= lo:
            return np.empty(0, np.int64), {name: np.empty(0, np.float64) for name in _PRICES}
        months = utc_months(_utc(lo), _utc(hi - 1))
        if len(months) > MAX_MONTHS:
            raise _NotHot(len(months))
        keys = [(ref, "bars", year, month, version.month(year, month)) for year, month in months]

        async def load(missing: list[_Key]) -> list[pa.Table]:
            periods = [_month_range(key[2], key[3]) for key in missing]
            table = await self.bars.export_chunk(ref, periods[0][0], periods[-1][1] - _MS, ("ts", *_PRICES))
            return _split(table.cast(CHART_SLICE_ARROW_SCHEMA), periods)

        parts = await self._blocks_of(keys, load)
        return _pick([part.between(lo, hi) for part in parts], regular)

    async def _rollups(
        self, ref: SeriesKey, version: SeriesVersion, width: str, lo: int, hi: int, regular: bool
    ) -> tuple[_Array, dict[str, _Array]]:
        """Rollup rows with ``lo <= ts < hi``: daily rows per session, 30-minute ones filtered by start."""
        session = "regular" if regular and width == "1d" else "extended"
        years = range(_utc(lo).year, _utc(hi - 1).year + 1)
        keys = [(ref, "rollup", width, session, year, version.year(year)) for year in years]

        async def load(missing: list[_Key]) -> list[pa.Table]:
            periods = [_year_range(key[4]) for key in missing]
            await self.bars.refresh_rollups(ref)  # rebuild what changed before reading it
            table = await self.bars.rollup_series(ref, width, session, periods[0][0], periods[-1][1] - _MS)
            return _split(table, periods)

        parts = await self._blocks_of(keys, load)
        return _pick([part.between(lo, hi) for part in parts], regular and width != "1d")

    async def _blocks_of(
        self, keys: list[_Key], load: Callable[[list[_Key]], Awaitable[list[pa.Table]]]
    ) -> list[_Block]:
        """The blocks of ``keys``: those held, those another request is loading, the rest in one load.

        ``load(missing)`` returns a table per missing key (in order); the keys are periods in time
        order, so one query over the missing ones' whole range serves them all.
        """
        blocks: dict[_Key, _Block | asyncio.Future[_Block]] = {}
        missing: list[_Key] = []
        for key in keys:
            cached = self._blocks.get(key)
            if cached is not None:
                self._blocks.move_to_end(key)
                blocks[key] = cached
            elif key in self._loading:
                blocks[key] = self._loading[key]
            else:
                missing.append(key)
        if missing:
            futures = [asyncio.get_running_loop().create_future() for _ in missing]
            for key, future in zip(missing, futures, strict=True):
                self._loading[key] = future
                blocks[key] = future
            try:
                loaded = [_Block(table) for table in await load(missing)]
            except BaseException as exc:
                for future in futures:
                    future.set_exception(exc)
                    future.exception()  # retrieved: waiters re-raise it, nobody logs it as lost
                raise
            finally:
                for key in missing:
                    del self._loading[key]
            for key, future, block in zip(missing, futures, loaded, strict=True):
                future.set_result(block)
                self._keep(key, block)
        return [
            block if isinstance(block, _Block) else await block for block in (blocks[key] for key in keys)
        ]

    def _keep(self, key: _Key, block: _Block) -> None:
        """Hold ``block``, evicting the least recently used ones beyond the byte budget."""
        self._blocks[key] = block
        self._bytes += block.nbytes
        while self._bytes > self.max_bytes and len(self._blocks) > 1:
            _, evicted = self._blocks.popitem(last=False)
            self._bytes -= evicted.nbytes


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
    """UTC milliseconds of New York wall-clock milliseconds.

    Of an ambiguous pair, the earlier; a time the spring-forward gap skips is the gap's end, as
    ClickHouse answers (a 2h bucket at 02:00 on that day starts at 03:00 EDT).
    """
    if len(local) == 0:
        return local
    unique, inverse = np.unique(local, return_inverse=True)
    naive = pa.array(unique, pa.timestamp("ms"))
    aware = pc.assume_timezone(naive, EXCHANGE_TZ, ambiguous="earliest", nonexistent="latest")
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


def _utc(ms: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(milliseconds=ms)


def _month_range(year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    """The first instant of a UTC month and of the next."""
    return dt.datetime(year, month, 1, tzinfo=dt.UTC), dt.datetime(
        year + month // 12, month % 12 + 1, 1, tzinfo=dt.UTC
    )


def _year_range(year: int) -> tuple[dt.datetime, dt.datetime]:
    """The first instant of a UTC year and of the next."""
    return dt.datetime(year, 1, 1, tzinfo=dt.UTC), dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)


def _split(table: pa.Table, periods: list[tuple[dt.datetime, dt.datetime]]) -> list[pa.Table]:
    """The rows of ``table`` (sorted by ``ts``) within each ``[start, next start)`` period."""
    ts = table.column("ts").cast(TS_TYPE).cast(pa.int64()).to_numpy()
    parts = []
    for start, after in periods:
        first, last = np.searchsorted(ts, [epoch_ms(start), epoch_ms(after)], "left")
        parts.append(table.slice(int(first), int(last - first)))
    return parts
