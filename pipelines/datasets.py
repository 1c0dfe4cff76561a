"""Datasets as users see them: listing, paging, deleting and chart slices over the bar store."""

from __future__ import annotations

import datetime as dt
import re
from typing import cast
from zoneinfo import ZoneInfo

import msgspec

from pipelines.versions import SeriesVersions
from schemas.bars import CHART_SLICE_ARROW_SCHEMA, BarPage, BarRow, ChartDataRequest, ChartSliceMeta
from schemas.datasets import Dataset, DeletedDataset
from schemas.values import TIMEFRAMES, BarWidth, Timeframe, Timespan, parse_time_point, series_code
from warehouse.catalog.datasets import DatasetRepository
from warehouse.clickhouse.bars import BarStore, SeriesRef, Slice
from warehouse.clickhouse.buckets import EXCHANGE_TZ, LADDER, tiles
from warehouse.errors import InvalidQuery, NotFound

NEW_YORK = ZoneInfo(EXCHANGE_TZ)


def dataset_name(
    symbol: str, multiplier: int, timespan: Timespan, start: dt.date, end: dt.date, adjusted: bool
) -> str:
    """The name a fetch gives its dataset.

    >>> dataset_name("BRK.A", 1, "day", dt.date(2024, 1, 1), dt.date(2024, 12, 31), True)
    'brk-a_1day_2024-01-01_2024-12-31'
    """
    slug = re.sub(r"[^a-z0-9]+", "-", symbol.lower()).strip("-")
    name = f"{slug}_{multiplier}{timespan}_{start.isoformat()}_{end.isoformat()}"
    return name if adjusted else f"{name}_raw"


def exchange_day_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """UTC instants bounding New York calendar days ``start``..``end`` (inclusive)."""
    first = dt.datetime.combine(start, dt.time(), NEW_YORK).astimezone(dt.UTC)
    after = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), NEW_YORK).astimezone(dt.UTC)
    return first, after - dt.timedelta(milliseconds=1)


def ref_of(dataset: Dataset) -> SeriesRef:
    """The stored series a dataset is a view of."""
    return SeriesRef(
        symbol=dataset.symbol,
        series=series_code(dataset.multiplier, dataset.timespan),
        adjusted=dataset.adjusted,
    )


class SlicePlan(msgspec.Struct, frozen=True, kw_only=True):
    """A resolved chart request: the series, the narrowest width, the widths allowed, the window."""

    ref: SeriesRef
    timeframe: str
    widths: tuple[str, ...] | None
    start: dt.datetime | None
    end: dt.datetime | None


class DatasetService:
    """Reads and deletes datasets; builds chart slices."""

    def __init__(self, catalog: DatasetRepository, bars: BarStore, versions: SeriesVersions) -> None:
        self.catalog = catalog
        self.bars = bars
        self.versions = versions

    async def all(self) -> list[Dataset]:
        """Every dataset."""
        return await self.catalog.all()

    async def page(self, table: str, offset: int, limit: int) -> BarPage:
        """Raw bars of dataset ``table``, oldest first."""
        dataset = await self.catalog.get(table)
        start, end = exchange_day_bounds(dataset.date_range.from_, dataset.date_range.to)
        rows = await self.bars.page(ref_of(dataset), start, end, offset, limit)
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
        ref = ref_of(dataset)
        keep = [
            exchange_day_bounds(other.date_range.from_, other.date_range.to)
            for other in await self.catalog.for_symbol(dataset.symbol, dataset.adjusted)
            if other.table != table and ref_of(other) == ref
        ]
        start, end = exchange_day_bounds(dataset.date_range.from_, dataset.date_range.to)
        deleted = await self.bars.delete(ref, start, end, keep)
        await self.versions.bump(ref)
        await self.catalog.delete(table)
        return DeletedDataset(table=table, bars_deleted=deleted)

    async def plan(self, request: ChartDataRequest) -> SlicePlan:
        """Resolve a chart request: which stored series, which widths, which window.

        Raises:
            NotFound: the dataset or symbol has no stored bars.
            InvalidQuery: the request names neither or both of ``symbol`` and ``table``, the window is
                inverted, or it asks for series that are not computed.
        """
        if request.indicators or request.projections or request.run_id:
            raise InvalidQuery("no indicator, projection or backtest series are stored yet to join to bars")
        datasets = await self._datasets_for(request)
        ref, timeframe = _choose_series(datasets, request.timeframe)
        widths = None if request.timeframe else tuple(tf for tf in TIMEFRAMES if tiles(timeframe, tf))
        covering = [d for d in datasets if ref_of(d) == ref and d.first_bar and d.last_bar]
        first = min((d.first_bar for d in covering if d.first_bar), default=None)
        last = max((d.last_bar for d in covering if d.last_bar), default=None)
        start = parse_time_point(request.from_) if request.from_ is not None else first
        end = parse_time_point(request.to, end_of_day=True) if request.to is not None else last
        if start is not None and end is not None and end < start:
            raise InvalidQuery("'to' is before 'from'")
        if first is not None and last is not None:
            start = max(start or first, first)
            end = min(end or last, last)
        return SlicePlan(ref=ref, timeframe=timeframe, widths=widths, start=start, end=end)

    async def chart_slice(self, plan: SlicePlan, request: ChartDataRequest) -> tuple[Slice, ChartSliceMeta]:
        """OHLCV for a chart, as planned, within the request's pixel budget."""
        if plan.start is None or plan.end is None or plan.end < plan.start:
            result = Slice(
                table=CHART_SLICE_ARROW_SCHEMA.empty_table(), bucket=plan.timeframe, truncated=False
            )
        else:
            result = await self.bars.chart_slice(
                plan.ref,
                plan.timeframe,
                plan.start,
                plan.end,
                request.max_points,
                regular_session=request.session == "regular",
                widths=plan.widths,
            )
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


def _choose_series(datasets: list[Dataset], timeframe: str | None) -> tuple[SeriesRef, str]:
    """The coarsest stored series that tiles ``timeframe``, else the finest one and the width it can serve.

    Without a timeframe: the finest series and the narrowest standard timeframe it tiles.
    """
    refs = {ref_of(d) for d in datasets}
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
