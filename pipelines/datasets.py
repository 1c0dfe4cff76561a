"""Datasets as users see them: listing, paging, deleting and chart slices over the bar store."""

from __future__ import annotations

import datetime as dt
from typing import cast

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.charts.hot_cache import DEFAULT_MAX_BYTES as DEFAULT_HOT_CACHE_BYTES
from pipelines.charts.hot_cache import HotBars
from pipelines.indicators.talib_series import IndicatorSpec, compute, parse_indicator
from pipelines.series.versions import SeriesVersion, SeriesVersions
from schemas.bars import (
    CHART_SLICE_ARROW_SCHEMA,
    BarPage,
    BarRow,
    ChartDataRequest,
    ChartSliceMeta,
    SeriesKey,
)
from schemas.datasets import Dataset, DeletedDataset, exchange_day_bounds, series_of
from schemas.values import TIMEFRAMES, BarWidth, Timeframe, parse_time_point
from warehouse.catalog.datasets import DatasetRepository
from warehouse.clickhouse.bars import BarStore, Slice
from warehouse.clickhouse.buckets import LADDER, tiles
from warehouse.errors import InvalidQuery, NotFound

WARMUP_LIMIT = 50_000
"""Most earlier buckets read to warm indicators up."""


class SlicePlan(msgspec.Struct, frozen=True, kw_only=True):
    """A resolved chart request: the series, the narrowest width, the widths allowed, the window."""

    ref: SeriesKey
    timeframe: str
    widths: tuple[str, ...] | None
    start: dt.datetime | None
    end: dt.datetime | None
    indicators: tuple[IndicatorSpec, ...] = ()


class DatasetService:
    """Reads and deletes datasets; builds chart slices."""

    def __init__(
        self,
        catalog: DatasetRepository,
        bars: BarStore,
        versions: SeriesVersions,
        hot_cache_bytes: int = DEFAULT_HOT_CACHE_BYTES,
    ) -> None:
        self.catalog = catalog
        self.bars = bars
        self.versions = versions
        self.hot = HotBars(bars, hot_cache_bytes)
        self._rolled: dict[SeriesKey, str] = {}
        """The series version each series' rollups were last refreshed at, by this process."""

    async def all(self) -> list[Dataset]:
        """Every dataset."""
        return await self.catalog.all()

    async def page(self, table: str, offset: int, limit: int) -> BarPage:
        """Raw bars of dataset ``table``, oldest first."""
        dataset = await self.catalog.get(table)
        start, end = exchange_day_bounds(dataset.date_range.from_, dataset.date_range.to)
        rows = await self.bars.page(series_of(dataset), start, end, offset, limit)
        await self.catalog.touch(table)
        return BarPage(
            table=table,
            offset=offset,
            limit=limit,
            total=dataset.total_records,
            rows=msgspec.convert(rows.to_pylist(), list[BarRow]),
        )

    async def delete(self, table: str) -> DeletedDataset:
        """Delete dataset ``table`` and the bars no other dataset of the same series covers."""
        dataset = await self.catalog.get(table)
        ref = series_of(dataset)
        keep = [
            exchange_day_bounds(other.date_range.from_, other.date_range.to)
            for other in await self.catalog.for_symbol(dataset.symbol, dataset.adjusted)
            if other.table != table and series_of(other) == ref
        ]
        start, end = exchange_day_bounds(dataset.date_range.from_, dataset.date_range.to)
        deleted = await self.bars.delete(ref, start, end, keep)
        await self.versions.bump(ref, (start, end))
        await self.catalog.delete(table)
        return DeletedDataset(table=table, bars_deleted=deleted)

    async def plan(self, request: ChartDataRequest) -> SlicePlan:
        """Resolve a chart request: which stored series, which widths, which window.

        Raises:
            NotFound: the dataset or symbol has no stored bars.
            InvalidQuery: the request names neither or both of ``symbol`` and ``table``, the window is
                inverted, or it asks for series that are not computed.
            InvalidIndicator: an indicator spec is malformed.
        """
        if request.projections or request.run_id:
            raise InvalidQuery("no projection or backtest series are stored yet to join to bars")
        indicators = tuple({spec.text: spec for spec in map(parse_indicator, request.indicators)}.values())
        datasets = await self._datasets_for(request)
        ref, timeframe = _choose_series(datasets, request.timeframe)
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
        return SlicePlan(
            ref=ref, timeframe=timeframe, widths=widths, start=start, end=end, indicators=indicators
        )

    async def chart_slice(
        self, plan: SlicePlan, request: ChartDataRequest, version: SeriesVersion | None = None
    ) -> tuple[Slice, ChartSliceMeta]:
        """OHLCV for a chart, as planned, within the request's pixel budget.

        ``version`` is the series' current version (see :class:`SeriesVersions`): while it stays
        the same, the rollups refreshed at it need no check for changed days.
        """
        version = version or await self.versions.current(plan.ref)
        if plan.start is None or plan.end is None or plan.end < plan.start:
            result = Slice(
                table=CHART_SLICE_ARROW_SCHEMA.empty_table(), bucket=plan.timeframe, truncated=False
            )
        else:
            regular = request.session == "regular"
            result = await self._slice(
                plan.ref,
                version,
                plan.timeframe,
                plan.start,
                plan.end,
                request.max_points,
                regular,
                plan.widths,
            )
            if plan.indicators:
                result = await self._with_indicators(plan, version, result, regular)
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

    async def _slice(
        self,
        ref: SeriesKey,
        version: SeriesVersion,
        timeframe: str,
        start: dt.datetime,
        end: dt.datetime,
        max_points: int,
        regular: bool,
        widths: tuple[str, ...] | None,
    ) -> Slice:
        """A slice from the hot cache when it serves the window, else from ClickHouse."""
        hot = await self.hot.chart_slice(
            ref, version, timeframe, start, end, max_points, regular_session=regular, widths=widths
        )
        if hot is not None:
            return hot
        result = await self.bars.chart_slice(
            ref,
            timeframe,
            start,
            end,
            max_points,
            regular_session=regular,
            widths=widths,
            rollups_fresh=self._rolled.get(ref) == version.token,
        )
        self._rolled[ref] = version.token  # that call refreshed the rollups wherever it read them
        return result

    async def _with_indicators(
        self, plan: SlicePlan, version: SeriesVersion, result: Slice, regular: bool
    ) -> Slice:
        """``result`` plus a column per indicator output, computed over earlier buckets too."""
        assert plan.start is not None
        bars = result.table
        warmup = min(max(spec.warmup for spec in plan.indicators), WARMUP_LIMIT)
        width_ms = BarWidth.of(result.bucket).approx_ms
        reach = max(dt.timedelta(milliseconds=width_ms * warmup * 3), dt.timedelta(days=10))
        before = plan.start - dt.timedelta(milliseconds=1)
        earlier = await self._slice(
            plan.ref,
            version,
            result.bucket,
            before - reach,
            before,
            max(warmup, 2),
            regular,
            (result.bucket,),
        )
        history = earlier.table
        if bars.num_rows:
            first = bars.column("ts")[0]
            history = history.filter(pc.less(history.column("ts"), first))
        combined = pa.concat_tables([history.select(bars.column_names).cast(bars.schema), bars])
        skip = history.num_rows
        for spec in plan.indicators:
            for output, values in compute(spec, combined).items():
                field = pa.field(
                    spec.column(output),
                    pa.float64(),
                    metadata={
                        "k2q.indicator": spec.text,
                        "k2q.output": output,
                        "k2q.overlay": "true" if spec.overlay else "false",
                        "k2q.display_name": spec.display_name,
                    },
                )
                bars = bars.append_column(field, pa.array(values[skip:], pa.float64(), from_pandas=True))
        return Slice(table=bars, bucket=result.bucket, truncated=result.truncated)

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


def _choose_series(datasets: list[Dataset], timeframe: str | None) -> tuple[SeriesKey, str]:
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
