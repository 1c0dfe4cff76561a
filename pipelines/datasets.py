"""Datasets as users see them: listing, paging, deleting and chart slices over the bar store."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import msgspec

from schemas.bars import CHART_SLICE_ARROW_SCHEMA, BarPage, BarRow, ChartDataRequest, ChartSliceMeta
from schemas.datasets import Dataset, DeletedDataset
from schemas.values import BarWidth, Timespan, parse_time_point, series_code
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


class DatasetService:
    """Reads and deletes datasets; builds chart slices."""

    def __init__(self, catalog: DatasetRepository, bars: BarStore) -> None:
        self.catalog = catalog
        self.bars = bars

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
        await self.catalog.delete(table)
        return DeletedDataset(table=table, bars_deleted=deleted)

    async def chart_slice(self, request: ChartDataRequest) -> tuple[Slice, ChartSliceMeta]:
        """OHLCV for a chart: the series that best serves the timeframe, within the pixel budget.

        Raises:
            NotFound: the dataset or symbol has no stored bars.
            InvalidQuery: the request names neither or both of ``symbol`` and ``table``, or the window
                is inverted.
        """
        datasets = await self._datasets_for(request)
        ref, timeframe = _choose_series(datasets, request.timeframe)
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
        if start is None or end is None or end < start:
            empty = Slice(table=CHART_SLICE_ARROW_SCHEMA.empty_table(), bucket=timeframe, truncated=False)
            return empty, _meta(ref, request, empty, None, None)
        result = await self.bars.chart_slice(ref, timeframe, start, end, request.max_points)
        if request.table:
            await self.catalog.touch(request.table)
        return result, _meta(ref, request, result, start, end)

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


def _choose_series(datasets: list[Dataset], timeframe: str) -> tuple[SeriesRef, str]:
    """The coarsest stored series that tiles ``timeframe``, else the finest one and the width it can serve."""
    refs = {ref_of(d) for d in datasets}
    fitting = [ref for ref in refs if tiles(ref.series, timeframe)]
    if fitting:
        return max(fitting, key=lambda ref: BarWidth.of(ref.series).approx_ms), timeframe
    finest = min(refs, key=lambda ref: BarWidth.of(ref.series).approx_ms)
    served = next((code for code in LADDER if tiles(finest.series, code)), None)
    if served is None:
        raise InvalidQuery(
            f"{finest.symbol} is stored as {finest.series} bars, which no chart timeframe tiles"
        )
    return finest, served


def _meta(
    ref: SeriesRef,
    request: ChartDataRequest,
    result: Slice,
    start: dt.datetime | None,
    end: dt.datetime | None,
) -> ChartSliceMeta:
    return ChartSliceMeta(
        symbol=ref.symbol,
        timeframe=request.timeframe,
        bucket=result.bucket,
        source_series=ref.series,
        rows=result.table.num_rows,
        truncated=result.truncated,
        window_from=start,
        window_to=end,
    )
