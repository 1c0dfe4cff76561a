"""Chart slices: resolve a chart request to a :class:`SliceQuery`, answer it, join extra series.

The path of ``POST /stocks/chart-data``:

1. :meth:`ChartSlices.plan` picks the stored series (the coarsest that tiles the timeframe asked
   for, else the finest), the widths allowed and the window, and plans the joins
   (:mod:`pipelines.charts.joins`) — a request it cannot answer fails here, before any bars are read;
2. :meth:`ChartSlices.chart_slice` cuts the bars (:meth:`ChartSlices.slice`: the hot cache when it
   serves the window, else ClickHouse — both run :mod:`warehouse.clickhouse.slice_search`), joins
   the planned columns and says what was done (:class:`ChartSliceMeta`).
"""

from __future__ import annotations

import datetime as dt
from typing import cast

import msgspec

from pipelines.charts.hot_cache import DEFAULT_MAX_BYTES as DEFAULT_HOT_CACHE_BYTES
from pipelines.charts.hot_cache import HotBars
from pipelines.charts.joins import JoinContext, PlannedJoin, SliceJoins
from pipelines.series.versions import SeriesVersion, SeriesVersions
from pipelines.work_pool import WorkPool
from schemas.bars import CHART_SLICE_ARROW_SCHEMA, ChartDataRequest, ChartSliceMeta, SeriesKey, SliceQuery
from schemas.datasets import Dataset, series_of
from schemas.values import TIMEFRAMES, BarWidth, Timeframe, parse_time_point
from warehouse.catalog.datasets import DatasetRepository
from warehouse.clickhouse.bars import BarStore
from warehouse.clickhouse.buckets import LADDER, tiles
from warehouse.clickhouse.slice_search import Slice
from warehouse.errors import InvalidQuery, NotFound
from warehouse.metrics import CACHE_REQUESTS


class SlicePlan(msgspec.Struct, frozen=True, kw_only=True):
    """A resolved chart request: the series, the narrowest width, the widths allowed, the window, joins."""

    ref: SeriesKey
    timeframe: str
    widths: tuple[str, ...] | None
    start: dt.datetime | None
    end: dt.datetime | None
    """The window, clipped to the stored bars (None when no dataset of the series has bars, or when
    the window asked for holds none of them)."""
    joins: tuple[PlannedJoin, ...] = ()


class ChartSlices:
    """Builds chart slices: plans requests, cuts bars from the hot cache or ClickHouse, joins series."""

    def __init__(
        self,
        catalog: DatasetRepository,
        bars: BarStore,
        versions: SeriesVersions,
        joins: SliceJoins,
        *,
        work: WorkPool,
        hot_cache_bytes: int = DEFAULT_HOT_CACHE_BYTES,
    ) -> None:
        self.catalog = catalog
        self.work = work
        self.bars = bars
        self.versions = versions
        self.joins = joins
        self.hot = HotBars(bars, hot_cache_bytes)
        self._rolled: dict[SeriesKey, str] = {}
        """The series version each series' rollups were last refreshed at, by this process."""

    async def plan(self, request: ChartDataRequest) -> SlicePlan:
        """Resolve a chart request: which stored series, which widths, which window, which joins.

        Raises:
            NotFound: the dataset or symbol has no stored bars.
            InvalidQuery: the request names neither or both of ``symbol`` and ``table``, the window is
                inverted, or it asks for series that are not computed.
            InvalidIndicator: an indicator spec is malformed.
        """
        joins = self.joins.plan(request)
        datasets = await self._datasets_for(request)
        ref, timeframe = choose_series(datasets, request.timeframe)
        widths = None if request.timeframe else tuple(tf for tf in TIMEFRAMES if tiles(timeframe, tf))
        covering = [d for d in datasets if series_of(d) == ref and d.first_bar and d.last_bar]
        first = min((d.first_bar for d in covering if d.first_bar), default=None)
        last = max((d.last_bar for d in covering if d.last_bar), default=None)
        start = parse_time_point(request.from_) if request.from_ is not None else first
        end = parse_time_point(request.to, end_of_day=True) if request.to is not None else last
        if start is not None and end is not None and end < start:
            raise InvalidQuery("'to' is before 'from'")
        if first is not None and last is not None:
            start = max(start or first, first)
            end = min(end or last, last)
            if end < start:  # the window holds no stored bars: answer an empty slice of no window
                start = end = None
        return SlicePlan(ref=ref, timeframe=timeframe, widths=widths, start=start, end=end, joins=joins)

    async def chart_slice(
        self, plan: SlicePlan, request: ChartDataRequest, version: SeriesVersion | None = None
    ) -> tuple[Slice, ChartSliceMeta]:
        """OHLCV for a chart, as planned, within the request's pixel budget, with the planned joins.

        ``version`` is the series' current version (see :class:`SeriesVersions`): while it stays
        the same, the rollups refreshed at it need no check for changed days.
        """
        version = version or await self.versions.current(plan.ref)
        if plan.start is None or plan.end is None or plan.end < plan.start:
            result = Slice(
                table=CHART_SLICE_ARROW_SCHEMA.empty_table(), bucket=plan.timeframe, truncated=False
            )
        else:
            query = SliceQuery(
                ref=plan.ref,
                timeframe=plan.timeframe,
                start=plan.start,
                end=plan.end,
                max_points=request.max_points,
                session=request.session,
                widths=plan.widths,
            )
            result = await self.slice(query, version)
            if plan.joins:

                async def more(other: SliceQuery) -> Slice:
                    return await self.slice(other, version)

                context = JoinContext(query=query, version=version, slice=more, work=self.work)
                result = await self.joins.apply(plan.joins, result, context)
        if request.table:
            await self.catalog.touch(request.table)
        picked = request.timeframe or (result.bucket if result.bucket in TIMEFRAMES else plan.timeframe)
        meta = ChartSliceMeta(
            symbol=plan.ref.symbol,
            timeframe=cast("Timeframe", picked),
            bucket=result.bucket,
            source_series=plan.ref.series,
            rows=result.table.num_rows,
            truncated=result.truncated,
            window_from=plan.start,
            window_to=plan.end,
            adjusted=plan.ref.adjusted,
            session=request.session,
        )
        return result, meta

    async def slice(self, query: SliceQuery, version: SeriesVersion) -> Slice:
        """The bars of ``query`` at ``version``: from the hot cache when it serves them, else ClickHouse.

        Raises:
            InvalidQuery: the series is not fine enough for the query's timeframe.
            QueryBudgetExceeded: a ClickHouse query ran past its time budget.
        """
        hot = await self.hot.chart_slice(query, version)
        CACHE_REQUESTS.labels("hot", "miss" if hot is None else "hit").inc()
        if hot is not None:
            return hot
        result = await self.bars.chart_slice(
            query, rollups_fresh=self._rolled.get(query.ref) == version.token
        )
        self._rolled[query.ref] = version.token  # that call refreshed the rollups wherever it read them
        return result

    async def _datasets_for(self, request: ChartDataRequest) -> list[Dataset]:
        if (request.symbol is None) == (request.table is None):
            raise InvalidQuery("name exactly one of 'symbol' or 'table'")
        if request.table is not None:
            dataset = await self.catalog.get(request.table)
            if request.adjusted is not None and request.adjusted != dataset.adjusted:
                kind = "adjusted" if dataset.adjusted else "unadjusted"
                raise InvalidQuery(
                    f"dataset {request.table} holds {kind} bars; omit 'adjusted' or name another"
                )
            return [dataset]
        assert request.symbol is not None
        adjusted = request.adjusted is not False
        datasets = await self.catalog.for_symbol(request.symbol.upper(), adjusted)
        if not datasets:
            kind = "adjusted" if adjusted else "unadjusted"
            raise NotFound(f"no {kind} bars stored for {request.symbol.upper()}; fetch them first")
        return datasets


def choose_series(datasets: list[Dataset], timeframe: str | None) -> tuple[SeriesKey, str]:
    """The coarsest stored series that tiles ``timeframe``, else the finest one and the width it can serve.

    Without a timeframe: the finest series and the narrowest standard timeframe it tiles.
    """
    refs = {series_of(d) for d in datasets}
    finest = min(refs, key=lambda ref: BarWidth.of(ref.series).approx_ms)
    if timeframe is None:
        narrowest = next((tf for tf in TIMEFRAMES if tiles(finest.series, tf)), None)
        if narrowest is None:
            raise InvalidQuery(
                f"{finest.symbol} is stored as {finest.series} bars, which no chart timeframe tiles"
            )
        return finest, narrowest
    fitting = [ref for ref in refs if tiles(ref.series, timeframe)]
    if fitting:
        return max(fitting, key=lambda ref: BarWidth.of(ref.series).approx_ms), timeframe
    served = next((code for code in LADDER if tiles(finest.series, code)), None)
    if served is None:
        raise InvalidQuery(
            f"{finest.symbol} is stored as {finest.series} bars, which no chart timeframe tiles"
        )
    return finest, served
