"""Data quality of datasets: assessed after each backfill (or on demand), stored, and read back.

The maths lives in :mod:`pipelines.quality.coverage`; this module loads a dataset's bars (one pass in
ClickHouse, deduplicated), measures them off the event loop and records the result.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

import numpy as np

from pipelines.errors import UnsupportedRequest
from pipelines.quality.coverage import measure
from schemas.datasets import Dataset, exchange_day_bounds, outside_supported_times, series_of
from schemas.quality import DataQuality, DataQualityReport, Gap
from schemas.values import SUPPORTED_TIMES, BarWidth
from warehouse.catalog.datasets import DatasetRepository
from warehouse.catalog.quality import QualityRepository, StoredGaps
from warehouse.clickhouse.bars import BarStore
from warehouse.clickhouse.quality import scan_series

MAX_GAPS_LISTED = 100_000
"""The most gaps one report lists."""

_HALF_DAY = dt.timedelta(hours=12)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class QualityAssessor:
    """Assesses datasets' bars against the exchange calendar and keeps the result."""

    def __init__(
        self,
        catalog: DatasetRepository,
        bars: BarStore,
        store: QualityRepository,
        clock: Callable[[], dt.datetime] = _now,
    ) -> None:
        self.catalog = catalog
        self.bars = bars
        self.store = store
        self.clock = clock

    async def assess(
        self, dataset: Dataset | str, received: int | None = None, *, stored_before: int | None = None
    ) -> DataQuality:
        """Measure the quality of ``dataset`` (a dataset or its name) and record it.

        Call it after a fetch has stored a symbol's bars and registered its dataset.

        Args:
            dataset: The dataset, or its table name.
            received: Bars the fetch received from its source (before deduplication); ``None``
                when no fetch ran (a re-assessment keeps the last fetch's duplicate count).
            stored_before: Distinct bars of the series in the dataset's range before the fetch;
                by default the count of the last assessment (0 for a new dataset).

        Returns:
            The quality as stored.

        Raises:
            NotFound: there is no such dataset.
            UnsupportedRequest: its bars are wider than a day but not whole days or months.
        """
        if isinstance(dataset, str):
            dataset = await self.catalog.get(dataset)
        assessed_at = self.clock()
        # Stored before the limits were enforced: the exchange calendar does not reach there.
        if any(outside_supported_times(dataset)):
            raise UnsupportedRequest(
                f"cannot assess {dataset.table}: it holds bars outside the supported times,"
                f" {SUPPORTED_TIMES} (stored before they were enforced); delete it"
            )
        start, end = exchange_day_bounds(dataset.date_range.from_, dataset.date_range.to)
        ref = series_of(dataset)
        scan = await scan_series(self.bars.clickhouse, ref, *_scan_window(ref.series, start, end))
        previous = await self.store.summary(dataset.table)
        if received is None:
            duplicates = previous.duplicates_dropped if previous is not None else None
        else:
            before = stored_before if stored_before is not None else (previous.bars if previous else 0)
            duplicates = max(received - max(len(scan.ts_ms) - before, 0), 0)
        try:
            quality, runs = await asyncio.to_thread(
                measure,
                ref.series,
                scan.ts_ms,
                scan.flags,
                start=dataset.date_range.from_,
                end=dataset.date_range.to,
                window=(start, min(end, assessed_at)),
                assessed_at=assessed_at,
                duplicates_dropped=duplicates,
            )
        except ValueError as exc:
            raise UnsupportedRequest(f"cannot assess {dataset.table}: {exc}") from exc
        await self.store.save(
            dataset.table, quality, runs.starts.tolist(), runs.ends.tolist(), runs.missing.tolist()
        )
        return quality

    async def report(
        self,
        table: str,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        limit: int = MAX_GAPS_LISTED,
    ) -> DataQualityReport:
        """The stored quality of dataset ``table`` and its gaps overlapping ``[start, end]``.

        A dataset never assessed is assessed first.

        Raises:
            NotFound: there is no such dataset.
        """
        stored = await self.store.get(table)
        if stored is None:
            await self.assess(table)
            stored = await self.store.get(table)
            assert stored is not None  # just saved (save raises NotFound for a deleted dataset)
        gaps, truncated = _gaps_in(stored.gaps, start, end, limit)
        return DataQualityReport(table=table, quality=stored.quality, gaps=gaps, truncated=truncated)


def _scan_window(series: str, start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The bar times that belong to the range ``[start, end]`` (New York midnight to midnight).

    A daily or wider bar belongs to the day whose New York midnight is nearest its time stamp
    (see :mod:`pipelines.quality.coverage`), so bars stamped at UTC midnight of the first day count too.
    """
    if BarWidth.of(series).is_intraday:
        return start, end
    return start - _HALF_DAY, end - _HALF_DAY


def _gaps_in(
    gaps: StoredGaps, start: dt.datetime | None, end: dt.datetime | None, limit: int
) -> tuple[list[Gap], bool]:
    """The gaps overlapping ``[start, end]`` (open ends: unbounded), oldest first, at most ``limit``."""
    starts = np.asarray(gaps.starts, dtype=np.int64)
    ends = np.asarray(gaps.ends, dtype=np.int64)
    keep = np.ones(len(starts), dtype=np.bool_)
    if start is not None:
        keep &= ends > int(start.timestamp() * 1000)
    if end is not None:
        keep &= starts <= int(end.timestamp() * 1000)
    index = np.flatnonzero(keep)
    listed = [
        Gap(
            start=dt.datetime.fromtimestamp(gaps.starts[i] / 1000, dt.UTC),
            end=dt.datetime.fromtimestamp(gaps.ends[i] / 1000, dt.UTC),
            missing=gaps.missing[i],
        )
        for i in index[:limit].tolist()
    ]
    return listed, len(index) > limit
