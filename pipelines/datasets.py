"""Datasets as users see them: listing, paging and deleting them over the bar store.

Chart slices over the same datasets are :mod:`pipelines.charts.slices`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec

from pipelines.series.versions import SeriesVersions
from schemas.bars import BarPage, BarRow, SeriesKey
from schemas.datasets import Dataset, DeletedDataset, exchange_day_bounds, series_of
from warehouse.catalog.datasets import DatasetRepository
from warehouse.clickhouse.bars import BarStore


class DatasetService:
    """Lists, pages and deletes datasets."""

    def __init__(
        self,
        catalog: DatasetRepository,
        bars: BarStore,
        versions: SeriesVersions,
        forget_derived: Callable[[SeriesKey], Awaitable[None]] | None = None,
    ) -> None:
        """``forget_derived`` deletes what was computed from a series (its indicator outputs)."""
        self.catalog = catalog
        self.bars = bars
        self.versions = versions
        self.forget_derived = forget_derived

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
        if self.forget_derived is not None:
            await self.forget_derived(ref)
        await self.versions.bump(ref, (start, end))
        await self.catalog.delete(table)
        return DeletedDataset(table=table, bars_deleted=deleted)
