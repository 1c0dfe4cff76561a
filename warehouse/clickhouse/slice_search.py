"""The slice engine's pure search: which bucket width a chart slice uses, and the final reduction.

A chart slice (:class:`schemas.bars.SliceQuery`) is answered by one search, whatever holds the
bars. The split is:

* this module decides — which widths a query may use (:func:`plan_levels`), which width to read
  next and when to stop (:func:`staged_slice`), and the last exact step from the width read to the
  wider one that fits the budget (:func:`coarsen`, :func:`reduce_runs`). It does no I/O;
* a :data:`Stage` reads — the window at one width, each row tagged with its bucket at wider
  widths. :meth:`warehouse.clickhouse.bars.BarStore.chart_slice` runs stages as ClickHouse queries
  (over bars, or rollups plus the window's edges); :class:`pipelines.charts.hot_cache.HotBars`
  runs them over months of bars held in memory.

Both paths therefore pick the same width and reduce the same way, and answer alike. The search
lives in the warehouse (not in ``pipelines/charts``) because the ClickHouse path uses it and the
warehouse may not import pipelines; the hot cache imports it from here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.bars import CHART_SLICE_ARROW_SCHEMA, TS_TYPE, SliceQuery
from schemas.values import BarWidth
from warehouse.clickhouse.buckets import ladder_from, tiles
from warehouse.clickhouse.rollups import rollup_source
from warehouse.errors import InvalidQuery


class Slice(msgspec.Struct, frozen=True, kw_only=True):
    """A chart slice: bars in :data:`CHART_SLICE_ARROW_SCHEMA` and how they were built.

    Joined series (``ind:…``, ``proj:…``, ``trade:…``) are appended to ``table`` after the bars.
    """

    table: pa.Table
    bucket: str
    truncated: bool


class LevelPlan(msgspec.Struct, frozen=True, kw_only=True):
    """Which widths a slice may use and where its search for the narrowest that fits starts."""

    ladder: tuple[str, ...]
    """Widths allowed, narrowest first."""
    width_ms: tuple[int, ...]
    cap: int
    """Most rows the first query may return."""
    first: int
    """Index of the narrowest width whose buckets over the whole window stay within ``cap``."""
    fits: int
    """Index of the narrowest width that fits the budget even if every bucket held bars."""


Stage = Callable[[str, tuple[str, ...], int], Awaitable[tuple[pa.Table, bool]]]
"""``stage(base, wider, cap)``: the window at width ``base`` (at most ``cap`` rows, in
:data:`CHART_SLICE_ARROW_SCHEMA` order), each row with its bucket at every ``wider`` width
(columns ``b_<code>``), and whether the row cap cut it short."""


def plan_levels(query: SliceQuery) -> LevelPlan:
    """The widths a slice of ``query`` may use.

    Raises:
        InvalidQuery: the series is not fine enough for the query's timeframe.
    """
    series, timeframe, widths = query.ref.series, query.timeframe, query.widths
    allowed = ladder_from(timeframe) if widths is None else tuple(w for w in widths if tiles(timeframe, w))
    ladder = tuple(code for code in allowed if tiles(series, code))
    if not ladder:
        raise InvalidQuery(f"a {series} series cannot be drawn at {timeframe}")
    span_ms = max((query.end - query.start) / dt.timedelta(milliseconds=1), 1.0)
    cap = max(16 * query.max_points, 20_000)
    width_ms = tuple(BarWidth.of(code).approx_ms for code in ladder)
    last = len(ladder) - 1
    return LevelPlan(
        ladder=ladder,
        width_ms=width_ms,
        cap=cap,
        first=next((i for i, ms in enumerate(width_ms) if span_ms / ms <= cap), last),
        fits=next((i for i, ms in enumerate(width_ms) if span_ms / ms + 2 <= query.max_points), last),
    )


async def search(query: SliceQuery, stage: Stage) -> Slice:
    """The slice ``query`` asks for, reading the window through ``stage``.

    Raises:
        InvalidQuery: the series is not fine enough for the query's timeframe (before any stage runs).
    """
    return await staged_slice(query, plan_levels(query), stage)


async def staged_slice(query: SliceQuery, levels: LevelPlan, stage: Stage) -> Slice:
    """Find the narrowest width whose buckets fit ``max_points`` with as few stages as possible.

    The search starts one width narrower than the widest guess: for dense bars its count decides
    between the two at once, and rollups serve it for long windows. Counts of buckets only shrink
    as widths grow, so when a width already fits the budget a narrower one might too (sparse
    bars): it looks again, first one width narrower, then the narrowest the row cap allows, for as
    long as that holds.
    """
    ladder, width_ms, cap, max_points = levels.ladder, levels.width_ms, levels.cap, query.max_points
    index = levels.first
    if rollup_source(query.ref.series, ladder[max(levels.first, levels.fits - 1)]) is not None:
        index = max(levels.first, levels.fits - 1)
    top = max(index, levels.fits)
    table, truncated = await stage(ladder[index], ladder[index + 1 : top + 1], cap)
    stepped = False
    while index > 0 and not truncated and table.num_rows <= max_points:
        known = table.num_rows
        finer = index - 1
        if stepped:
            finer = next((i for i in range(index) if known * width_ms[index] / width_ms[i] <= cap), finer)
        stepped = True
        top = max(top, index)
        index = finer
        table, truncated = await stage(ladder[index], ladder[index + 1 : top + 1], cap)
    # Reducing up to ``cap`` rows takes a while: in a thread, so the event loop stays free.
    return await asyncio.to_thread(coarsen, table, ladder[index : top + 1], max_points, truncated=truncated)


def coarsen(table: pa.Table, levels: Sequence[str], max_points: int, *, truncated: bool) -> Slice:
    """Pick the first of ``levels`` whose bucket count fits ``max_points`` and reduce ``table`` to it."""
    for index, code in enumerate(levels):
        keys = table.column("ts") if index == 0 else table.column(f"b_{code}")
        count = table.num_rows if index == 0 else pc.count_distinct(keys).as_py()
        last = index == len(levels) - 1
        if count <= max_points or last:
            bars = table if index == 0 else _reduce(table, keys)
            if bars.num_rows > max_points:
                bars = bars.slice(bars.num_rows - max_points)
                truncated = True
            table = bars.select(CHART_SLICE_ARROW_SCHEMA.names).cast(CHART_SLICE_ARROW_SCHEMA)
            return Slice(table=table, bucket=code, truncated=truncated)
    raise AssertionError("unreachable: the last level always returns")


_Floats = np.ndarray[Any, np.dtype[np.float64]]
_Ints = np.ndarray[Any, np.dtype[np.int64]]


def reduce_runs(keys: _Ints, values: dict[str, _Floats]) -> tuple[_Ints, dict[str, _Floats]]:
    """OHLCV per run of equal ``keys`` (rows sorted by time, so each bucket is one run).

    ``values`` holds ``open``, ``high``, ``low``, ``close`` and ``volume``; returns each run's key
    and its open, high, low, close and volume.
    """
    if len(keys) == 0:
        return keys, values
    starts = np.concatenate(([0], np.flatnonzero(np.diff(keys)) + 1))
    ends = np.append(starts[1:], len(keys)) - 1
    return keys[starts], {
        "open": values["open"][starts],
        "high": np.maximum.reduceat(values["high"], starts),
        "low": np.minimum.reduceat(values["low"], starts),
        "close": values["close"][ends],
        "volume": np.add.reduceat(values["volume"], starts),
    }


def _reduce(table: pa.Table, keys: pa.ChunkedArray) -> pa.Table:
    """OHLCV per run of equal ``keys`` of a slice table."""
    if table.num_rows == 0:
        return CHART_SLICE_ARROW_SCHEMA.empty_table()
    key = keys.to_numpy().astype("datetime64[ms]").astype(np.int64)
    names = ("open", "high", "low", "close", "volume")
    starts, values = reduce_runs(key, {name: table.column(name).to_numpy() for name in names})
    return pa.table({"ts": pa.array(starts, TS_TYPE), **values}, schema=CHART_SLICE_ARROW_SCHEMA)
