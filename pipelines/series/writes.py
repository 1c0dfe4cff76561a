"""The one write path for bars: store them, register or extend their datasets, bump their versions.

Every writer of bars goes through :class:`BarWriter`: a fetch (its windows, many symbols per
insert, then every dataset at once), a flat-file load (ClickHouse loads the files itself; the
datasets and versions follow), a file import, the live stream and the demo feed. So a series
changes in one way everywhere:

1. the bars are inserted (the bar store marks the days whose rollups must be rebuilt);
2. the datasets that view them are registered (or refreshed) or, for live series, extended;
3. each series' version is bumped over the span the bars reach, which is what tells chart
   ETags, the slice cache and the hot cache which months changed. A write that also registers
   bumps after the catalog, so a new version never meets a dataset's old bounds.

Batches stay batches: a multi-symbol insert bumps all its symbols in one Redis round trip, and
many datasets are registered in one statement.

The rule that a series is never mixed across sources is :func:`source_conflicts`; each writer
checks it before writing (and says so in its own words).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.errors import PipelineClientError
from pipelines.series.versions import SeriesVersions, Span
from schemas.bars import SeriesKey
from schemas.datasets import Dataset, dataset_name, series_of
from warehouse.catalog.datasets import DatasetRecord, DatasetRepository
from warehouse.clickhouse.bars import BarStore, SeriesStats

__all__ = ["BarWriter", "DatasetExtent", "SourceConflict", "Written", "source_conflicts"]


class SourceConflict(PipelineClientError):
    """The series is already stored from another source; mixing them would corrupt it."""

    @classmethod
    def of(cls, other: Dataset, doing: str) -> SourceConflict:
        """The conflict with ``other`` (a dataset from another source), before ``doing`` something.

        >>> import datetime as dt
        >>> from schemas.datasets import DateRange
        >>> now, day = dt.datetime(2024, 1, 2, tzinfo=dt.UTC), dt.date(2024, 1, 2)
        >>> other = Dataset(table="spy_1day", symbol="SPY", timespan="day", multiplier=1, adjusted=True,
        ...     source="synthetic", total_records=1, date_range=DateRange(from_=day, to=day),
        ...     first_bar=None, last_bar=None, created_at=now, updated_at=now, last_accessed=None)
        >>> str(SourceConflict.of(other, "fetching from polygon"))
        'SPY 1d bars are stored from synthetic (dataset spy_1day); delete it before fetching from polygon'
        """
        return cls(
            f"{other.symbol} {series_of(other).series} bars are stored from {other.source}"
            f" (dataset {other.table}); delete it before {doing}"
        )


def source_conflicts(
    datasets: Iterable[Dataset], series: str, adjusted: bool, source: str
) -> dict[str, list[Dataset]]:
    """Per symbol, its datasets of ``series`` (``adjusted``) stored from a source other than ``source``.

    Bars of one series never come from two sources: a symbol listed here must not be written
    from ``source``. Datasets keep their order within a symbol.
    """
    found: dict[str, list[Dataset]] = {}
    for dataset in datasets:
        if dataset.adjusted == adjusted and dataset.source != source and series_of(dataset).series == series:
            found.setdefault(dataset.symbol, []).append(dataset)
    return found


class Written(msgspec.Struct, frozen=True, kw_only=True):
    """What a write stored: how many rows were sent, and the first and last bar's start."""

    rows: int
    span: Span | None
    """``None`` when there were no rows (nothing was stored or bumped)."""


class DatasetExtent(msgspec.Struct, frozen=True, kw_only=True):
    """A dataset to register or extend: its series, source, date range and what it holds there.

    ``table`` defaults to the name a fetch gives the series over ``start``..``end``
    (:func:`~schemas.datasets.dataset_name`).
    """

    key: SeriesKey
    source: str
    start: dt.date
    end: dt.date
    stats: SeriesStats | None = None
    """The bars stored in the range (``None``: none)."""
    table: str | None = None

    def record(self) -> DatasetRecord:
        """The catalog row of this dataset."""
        key, stats = self.key, self.stats
        return DatasetRecord(
            table=self.table
            or dataset_name(key.symbol, key.multiplier, key.timespan, self.start, self.end, key.adjusted),
            symbol=key.symbol,
            timespan=key.timespan,
            multiplier=key.multiplier,
            adjusted=key.adjusted,
            source=self.source,
            start_date=self.start,
            end_date=self.end,
            record_count=stats.count if stats is not None else 0,
            first_bar=stats.first if stats is not None else None,
            last_bar=stats.last if stats is not None else None,
        )


def _span(ts: pa.ChunkedArray | pa.Array) -> Span:
    bounds = pc.min_max(ts)
    first, last = bounds["min"].as_py(), bounds["max"].as_py()
    assert isinstance(first, dt.datetime)
    assert isinstance(last, dt.datetime)
    return first, last


class BarWriter:
    """Stores bars, registers or extends their datasets and bumps their series' versions.

    Args:
        bars: The bar store (it marks rollups dirty on every insert).
        catalog: The dataset catalog.
        versions: Series versions (chart ETags, the slice and hot caches follow them).
    """

    def __init__(self, bars: BarStore, catalog: DatasetRepository, versions: SeriesVersions) -> None:
        self.bars = bars
        self.catalog = catalog
        self.versions = versions

    async def conflicts(
        self, series: str, adjusted: bool, source: str, symbols: Sequence[str] | None = None
    ) -> dict[str, list[Dataset]]:
        """:func:`source_conflicts` over the catalog: of ``symbols``, or of every symbol when ``None``."""
        datasets = (
            await self.catalog.all() if symbols is None else await self.catalog.for_symbols(symbols, adjusted)
        )
        return source_conflicts(datasets, series, adjusted, source)

    async def write(
        self, key: SeriesKey, source: str, bars: pa.RecordBatch | pa.Table, *, bump: bool = True
    ) -> Written:
        """Store bars of one series (columns of ``BAR_ARROW_SCHEMA``) and bump it over their span.

        With ``bump=False`` the caller bumps with the datasets it registers next
        (:meth:`register` or :meth:`extend` with ``changed``), after the catalog.
        """
        table = pa.Table.from_batches([bars]) if isinstance(bars, pa.RecordBatch) else bars
        if table.num_rows == 0:
            return Written(rows=0, span=None)
        rows = await self.bars.insert(key, source, table)
        span = _span(table.column("ts"))
        if bump:
            await self.versions.bump(key, span)
        return Written(rows=rows, span=span)

    async def write_symbols(self, series: str, adjusted: bool, source: str, table: pa.Table) -> Written:
        """Store bars of many symbols of one series code in one insert; bump each symbol's series.

        ``table`` holds a ``symbol`` column and the columns of ``BAR_ARROW_SCHEMA``. Every symbol is
        bumped over the span of the whole table, in one round trip.
        """
        if table.num_rows == 0:
            return Written(rows=0, span=None)
        rows = await self.bars.insert_symbols(series, adjusted, source, table)
        span = _span(table.column("ts"))
        symbols = pc.unique(table.column("symbol")).to_pylist()
        await self.versions.bump_many(
            (SeriesKey.of(symbol=symbol, series=series, adjusted=adjusted) for symbol in symbols), span
        )
        return Written(rows=rows, span=span)

    async def register(
        self, extents: Sequence[DatasetExtent], *, changed: Span | None = None
    ) -> list[Dataset]:
        """Register each dataset, or refresh the counts, bounds and source of the one of that name.

        One statement for them all; the datasets come back in the order of ``extents``. With
        ``changed`` (bars written without a bump, e.g. loaded by ClickHouse itself), every
        extent's series is then bumped over that span, in one round trip.
        """
        if not extents:
            return []
        records = [extent.record() for extent in extents]
        stored = {dataset.table: dataset for dataset in await self.catalog.upsert_many(records)}
        if changed is not None:
            await self.versions.bump_many([extent.key for extent in extents], changed)
        return [stored[record.table] for record in records]

    async def extend(self, extents: Sequence[DatasetExtent], *, changed: Span | None = None) -> list[Dataset]:
        """Register each dataset, or widen the one of that name to its range and take its counts.

        Live datasets grow this way. With ``changed`` (bars written with ``bump=False``), every
        extent's series is then bumped over that span, in one round trip.
        """
        datasets = [await self.catalog.extend(extent.record()) for extent in extents]
        if changed is not None and extents:
            await self.versions.bump_many([extent.key for extent in extents], changed)
        return datasets
