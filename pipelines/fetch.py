"""The fetch path: bars from a source into the bar store, registered as a dataset per symbol."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

from pipelines.datasets import dataset_name, exchange_day_bounds, ref_of
from pipelines.errors import PipelineClientError, PipelineError, UnsupportedRequest
from pipelines.sources.base import BarSource
from pipelines.versions import SeriesVersions
from schemas.bars import SeriesKey, SeriesRequest
from schemas.datasets import Dataset, FetchRequest
from schemas.jobs import SymbolProgress
from schemas.values import series_code
from warehouse.catalog.datasets import DatasetRecord, DatasetRepository
from warehouse.clickhouse.bars import BarStore, SeriesRef
from warehouse.errors import WarehouseError

ProgressSink = Callable[[list[SymbolProgress]], Awaitable[None]]
"""Receives every symbol's progress, at most every :data:`PROGRESS_INTERVAL_S` and once at the end."""

PROGRESS_INTERVAL_S = 0.25
SYMBOLS_IN_PARALLEL = 4


class SourceConflict(PipelineClientError):
    """The series is already stored from another source; mixing them would corrupt it."""


class FetchOutcome:
    """What a fetch did, per symbol."""

    def __init__(self, progress: list[SymbolProgress], datasets: list[Dataset]) -> None:
        self.progress = progress
        self.datasets = datasets

    @property
    def failed(self) -> list[SymbolProgress]:
        """Symbols that failed."""
        return [item for item in self.progress if item.error is not None]

    @property
    def bars(self) -> int:
        """Bars received from the source across every symbol."""
        return sum(item.bars for item in self.progress)


class Fetcher:
    """Runs fetch requests against the configured sources."""

    def __init__(
        self,
        sources: Mapping[str, BarSource],
        bars: BarStore,
        catalog: DatasetRepository,
        versions: SeriesVersions,
    ) -> None:
        self.sources = sources
        self.bars = bars
        self.catalog = catalog
        self.versions = versions

    def source(self, name: str) -> BarSource:
        """The source called ``name``.

        Raises:
            UnsupportedRequest: it is not configured (e.g. Polygon without an API key).
        """
        source = self.sources.get(name)
        if source is None:
            if name == "polygon":
                raise UnsupportedRequest(
                    "Polygon is not configured: set POLYGON_API_KEY (or use source 'synthetic')"
                )
            raise UnsupportedRequest(f"unknown source {name!r}")
        return source

    async def run(self, request: FetchRequest, on_progress: ProgressSink | None = None) -> FetchOutcome:
        """Fetch every symbol of ``request``; a failing symbol does not stop the others."""
        source = self.source(request.source)
        progress = [SymbolProgress(symbol=symbol) for symbol in request.symbols]
        reporter = _Reporter(progress, on_progress)
        limit = asyncio.Semaphore(SYMBOLS_IN_PARALLEL)
        datasets: list[Dataset] = []

        async def one(item: SymbolProgress) -> None:
            async with limit:
                try:
                    datasets.append(await self._fetch_symbol(source, request, item, reporter))
                except (PipelineError, WarehouseError) as exc:
                    item.error = str(exc)
                await reporter.flush(force=True)

        await asyncio.gather(*(one(item) for item in progress))
        if any(item.bars for item in progress):  # once per fetch: each merge covers every symbol's bars
            await self.bars.compact(_any_ref(request), *exchange_day_bounds(request.from_, request.to))
        await reporter.flush(force=True)
        return FetchOutcome(progress, datasets)

    async def _fetch_symbol(
        self, source: BarSource, request: FetchRequest, item: SymbolProgress, reporter: _Reporter
    ) -> Dataset:
        key = SeriesKey(
            symbol=item.symbol,
            multiplier=request.multiplier,
            timespan=request.timespan,
            adjusted=request.adjusted,
        )
        ref = SeriesRef(
            symbol=item.symbol,
            series=series_code(request.multiplier, request.timespan),
            adjusted=request.adjusted,
        )
        await self._check_source(ref, source.name)

        def on_window(done: int, total: int, _bars: int) -> None:
            item.windows_done, item.windows_total = done, total

        series = SeriesRequest(key=key, start=request.from_, end=request.to, source=source.name)
        async for batch in source.fetch(series, on_window):
            item.bars += await self.bars.insert(ref, source.name, batch)
            await self.versions.bump(ref)
            await reporter.flush()
        start, end = exchange_day_bounds(request.from_, request.to)
        stats = await self.bars.stats(ref, start, end)
        dataset = await self.catalog.upsert(
            DatasetRecord(
                table=dataset_name(
                    item.symbol,
                    request.multiplier,
                    request.timespan,
                    request.from_,
                    request.to,
                    request.adjusted,
                ),
                symbol=item.symbol,
                timespan=request.timespan,
                multiplier=request.multiplier,
                adjusted=request.adjusted,
                source=source.name,
                start_date=request.from_,
                end_date=request.to,
                record_count=stats.count,
                first_bar=stats.first,
                last_bar=stats.last,
            )
        )
        item.table = dataset.table
        return dataset

    async def _check_source(self, ref: SeriesRef, source: str) -> None:
        for other in await self.catalog.for_symbol(ref.symbol, ref.adjusted):
            if ref_of(other) == ref and other.source != source:
                raise SourceConflict(
                    f"{ref.symbol} {ref.series} bars are stored from {other.source} (dataset {other.table});"
                    f" delete it before fetching from {source}"
                )


def _any_ref(request: FetchRequest) -> SeriesRef:
    """A series of the request (they all share bar width and range, hence partitions)."""
    series = series_code(request.multiplier, request.timespan)
    return SeriesRef(symbol=request.symbols[0], series=series, adjusted=request.adjusted)


class _Reporter:
    """Throttles progress reports to the sink."""

    def __init__(self, progress: list[SymbolProgress], sink: ProgressSink | None) -> None:
        self.progress = progress
        self.sink = sink
        self.last = 0.0

    async def flush(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if self.sink is None or (not force and now - self.last < PROGRESS_INTERVAL_S):
            return
        self.last = now
        await self.sink(self.progress)
