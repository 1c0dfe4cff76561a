"""The fetch path: bars from a source into the bar store, registered as a dataset per symbol.

A fetch first claims its series for its source (see :mod:`pipelines.series.writes`): a symbol whose
series is stored, or being stored, from another source is not fetched (its progress says why); a
whole-market fetch leases the market and leaves out, day by day, the symbols bound to other
sources. The claims are held until the datasets are registered.

A request is planned as windows (per symbol, or per trading day for a whole market), the windows a
checkpoint says are stored are skipped, and the rest run through a
:class:`~pipelines.ingest.window_runner.WindowRunner`: concurrently, under the source's bound, into
large inserts, each window checkpointed once its bars are stored. Then every symbol's dataset is
registered (in one statement), and the quality of a few is assessed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.errors import UnsupportedRequest
from pipelines.ingest.sources.base import BarSource, MarketSource
from pipelines.ingest.window_runner import ProgressSink, Reporter, RunResult, WindowRunner, WindowUnit
from pipelines.quality.assessor import QualityAssessor
from pipelines.series.versions import SeriesVersions
from pipelines.series.writes import BarWriter, Claim, DatasetExtent, SourceConflict
from schemas.bars import BAR_ARROW_SCHEMA, SeriesKey, SeriesRequest
from schemas.datasets import Dataset, FetchRequest, exchange_day_bounds, series_of
from schemas.jobs import SymbolProgress
from schemas.values import NEW_YORK, SYMBOL_PATTERN, SourceName, series_code
from warehouse.catalog.datasets import DatasetRepository
from warehouse.catalog.fetch_windows import FetchSeries, FetchWindowRepository, WindowKey
from warehouse.clickhouse.bars import BarStore

__all__ = ["MARKET", "FetchOutcome", "Fetcher", "ProgressSink", "SourceConflict"]

MARKET: Final = "*"
"""The progress label and checkpoint symbol of a whole-market fetch."""
STALE_AFTER: Final = dt.timedelta(seconds=60)
"""A running job that has not beaten its heartbeat for this long is taken for dead."""
ASSESS_AT_MOST: Final = 200
"""Datasets whose quality a fetch assesses at once; beyond that each is assessed when first asked for."""
_WINDOWS_LISTED: Final = 3
_TICKER: Final = re.compile(SYMBOL_PATTERN)
_ROW_SCHEMA: Final = pa.schema([*BAR_ARROW_SCHEMA, pa.field("symbol", pa.string(), nullable=False)])


class FetchOutcome:
    """What a fetch did, per symbol (or for the whole market)."""

    def __init__(
        self,
        progress: list[SymbolProgress],
        datasets: list[Dataset],
        *,
        failed_windows: Sequence[tuple[WindowKey, str]] = (),
        cancelled: bool = False,
        skipped: Sequence[str] = (),
    ) -> None:
        self.progress = progress
        self.datasets = datasets
        self.failed_windows = list(failed_windows)
        self.cancelled = cancelled
        self.skipped = list(skipped)
        """Tickers a whole-market fetch left out (not valid symbols, or stored from another source)."""

    @property
    def failed(self) -> list[SymbolProgress]:
        """Symbols that failed (in whole or in some windows)."""
        return [item for item in self.progress if item.error is not None]

    @property
    def bars(self) -> int:
        """Bars received from the source across every symbol."""
        return sum(item.bars for item in self.progress)


def exchange_today() -> dt.date:
    """Today's date in New York: no exchange day after it has bars yet."""
    return dt.datetime.now(NEW_YORK).date()


class Fetcher:
    """Runs fetch requests against the configured sources.

    Args:
        sources: Bar sources by name.
        bars: The bar store.
        catalog: The dataset catalog.
        versions: Series versions, bumped whenever a series' bars change.
        windows: Where windows are checkpointed (jobs only; none: nothing is checkpointed).
        quality: Assesses the datasets a fetch registers (none: not assessed).
        writer: The write path for bars (over the same stores).
    """

    def __init__(
        self,
        sources: Mapping[str, BarSource],
        bars: BarStore,
        catalog: DatasetRepository,
        versions: SeriesVersions,
        *,
        windows: FetchWindowRepository | None = None,
        quality: QualityAssessor | None = None,
        writer: BarWriter,
    ) -> None:
        self.sources = sources
        self.bars = bars
        self.catalog = catalog
        self.versions = versions
        self.windows = windows
        self.quality = quality
        self.writer = writer

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

    def check(self, request: FetchRequest) -> BarSource:
        """The source of ``request`` once the request is known to be servable (call before queueing).

        Raises:
            UnsupportedRequest: no such source, it cannot serve the request, or the range starts
                after today (New York).
        """
        source = self.source(request.source)
        today = exchange_today()
        if request.from_ > today:
            raise UnsupportedRequest(
                f"the range starts in the future ({request.from_}); the latest bars are today's ({today})"
            )
        if request.market:
            if not isinstance(source, MarketSource):
                raise UnsupportedRequest(f"source {source.name!r} has no whole-market daily bars")
            return source
        source.plan(self._series_request(request, request.symbols[0], source.name, min(request.to, today)))
        return source

    async def run(
        self,
        request: FetchRequest,
        on_progress: ProgressSink | None = None,
        *,
        job_id: str | None = None,
        stop: asyncio.Event | None = None,
    ) -> FetchOutcome:
        """Fetch ``request``; a failing window or symbol does not stop the others.

        Args:
            request: What to fetch.
            on_progress: Receives every symbol's progress as it changes (throttled) and at the end.
            job_id: The job this fetch runs for; its windows are checkpointed and a re-run resumes.
            stop: Set to stop at once (a cancelled job): what is fetched so far is still stored.

        Raises:
            UnsupportedRequest: as :meth:`check` does.
            SourceAuthError: the source refused the key (401) or the entitlement (403); done
                windows stay stored and checkpointed.
            WarehouseError: a store failed.
        """
        source = self.check(request)
        async with self.writer.holding(source.name, f"fetching from {source.name}") as claim:
            return await self._run(request, source, claim, on_progress, job_id=job_id, stop=stop)

    async def _run(
        self,
        request: FetchRequest,
        source: BarSource,
        claim: Claim,
        on_progress: ProgressSink | None,
        *,
        job_id: str | None,
        stop: asyncio.Event | None,
    ) -> FetchOutcome:
        """:meth:`run` under the fetch's claim."""
        end = min(request.to, exchange_today())
        code = series_code(request.multiplier, request.timespan)
        series = FetchSeries(
            source=source.name,
            timespan=request.timespan,
            multiplier=request.multiplier,
            adjusted=request.adjusted,
        )
        if request.market:
            assert isinstance(source, MarketSource)
            conflict = await self.writer.lease_market(code, request.adjusted, claim)
            if conflict is not None:
                raise conflict
            progress = {MARKET: SymbolProgress(symbol=MARKET)}
            skipped: set[str] = set()

            async def excluded() -> set[str]:
                return await self.writer.others(code, request.adjusted, source.name)

            units = [
                self._market_unit(source, day, request.adjusted, excluded, skipped)
                for day in source.plan_market(request.from_, end)
            ]
        else:
            progress = {symbol: SymbolProgress(symbol=symbol) for symbol in request.symbols}
            conflicts = await self.writer.claim(code, request.adjusted, request.symbols, claim)
            for symbol, conflict in conflicts.items():
                progress[symbol].error = str(conflict)
            skipped = set()
            units = [
                self._symbol_unit(source, series_request, window)
                for symbol in request.symbols
                if symbol not in conflicts
                for series_request in [self._series_request(request, symbol, source.name, end)]
                for window in source.plan(series_request)
            ]
        for unit in units:
            progress[unit.label].windows_total += 1
        units = await self._resume(job_id, series, units, progress, request, code)
        resumed = {label: item.bars for label, item in progress.items()}  # stored by an earlier run
        reporter = Reporter(list(progress.values()), on_progress)
        await reporter.flush(force=True)
        runner = WindowRunner(
            self.writer,
            series=code,
            adjusted=request.adjusted,
            claim=claim,
            progress=progress,
            reporter=reporter,
            checkpoints=(self.windows, job_id) if self.windows is not None and job_id else None,
        )
        result = await runner.run(units, source.concurrency, stop)
        if result.fatal is not None:
            # What was stored stays a dataset (so its source binds the series once the claims go);
            # symbols with nothing stored get none.
            result.stopped = True
            await self._register(
                request, source.name, code, progress, result, market=request.market, resumed=resumed
            )
            await reporter.flush(force=True)
            raise result.fatal
        _describe_failures(progress, result)
        if request.market:
            skipped.update(result.refused)
        datasets = await self._register(
            request, source.name, code, progress, result, market=request.market, resumed=resumed
        )
        await reporter.flush(force=True)
        return FetchOutcome(
            list(progress.values()),
            datasets,
            failed_windows=result.failed,
            cancelled=result.stopped,
            skipped=sorted(skipped),
        )

    @staticmethod
    def _series_request(
        request: FetchRequest, symbol: str, source: SourceName, end: dt.date
    ) -> SeriesRequest:
        key = SeriesKey(
            symbol=symbol, multiplier=request.multiplier, timespan=request.timespan, adjusted=request.adjusted
        )
        return SeriesRequest(key=key, start=request.from_, end=end, source=source)

    @staticmethod
    def _symbol_unit(
        source: BarSource, request: SeriesRequest, window: tuple[dt.date, dt.date]
    ) -> WindowUnit:
        symbol = request.key.symbol

        async def fetch() -> AsyncIterator[pa.Table]:
            async for batch in source.fetch_window(request, window):
                table = pa.Table.from_batches([batch]).select(BAR_ARROW_SCHEMA.names).cast(BAR_ARROW_SCHEMA)
                yield table.append_column(_ROW_SCHEMA.field("symbol"), pa.repeat(symbol, table.num_rows))

        return WindowUnit(key=WindowKey(symbol, *window), label=symbol, fetch=fetch)

    @staticmethod
    def _market_unit(
        source: MarketSource,
        day: dt.date,
        adjusted: bool,
        others: Callable[[], Awaitable[set[str]]],
        skipped: set[str],
    ) -> WindowUnit:
        """The window of one day of the whole market, without the tickers bound to other sources then."""

        async def fetch() -> AsyncIterator[pa.Table]:
            table = await source.fetch_market_day(day, adjusted)
            symbols = table.column("symbol")
            keep = pc.match_substring_regex(symbols, SYMBOL_PATTERN)
            excluded = await others()  # under the market lease: none joins them while this day is stored
            if excluded:
                keep = pc.and_(keep, pc.invert(pc.is_in(symbols, pa.array(sorted(excluded), pa.string()))))
            if not pc.all(keep).as_py():
                skipped.update(pc.filter(symbols, pc.invert(keep)).to_pylist())
                table = table.filter(keep)
            if table.num_rows:
                yield table.select(_ROW_SCHEMA.names).cast(_ROW_SCHEMA)

        return WindowUnit(key=WindowKey(MARKET, day, day), label=MARKET, fetch=fetch)

    async def _resume(
        self,
        job_id: str | None,
        series: FetchSeries,
        units: list[WindowUnit],
        progress: dict[str, SymbolProgress],
        request: FetchRequest,
        code: str,
    ) -> list[WindowUnit]:
        """Record the job's windows and drop those already stored (by this job or a failed earlier one)."""
        if self.windows is None or not job_id or not units:
            return units
        stale_before = dt.datetime.now(dt.UTC) - STALE_AFTER
        planned = await self.windows.plan(
            job_id, series, [unit.key for unit in units], stale_before=stale_before
        )
        inherited: dict[str, int] = {}
        for window in planned:
            if window.inherited:
                inherited[window.key.symbol] = inherited.get(window.key.symbol, 0) + window.bars
        lost = await self._lost(inherited, code, request)
        if lost:  # the bars a failed earlier run stored are gone (deleted since): fetch them again
            await self.windows.forget_inherited(job_id, lost)
        done = {
            window.key: window.bars
            for window in planned
            if window.state == "done" and window.key.symbol not in lost
        }
        for key, bars in done.items():
            item = progress[MARKET if key.symbol == MARKET else key.symbol]
            item.windows_done += 1
            item.bars += bars
        return [unit for unit in units if unit.key not in done]

    async def _lost(self, inherited: dict[str, int], code: str, request: FetchRequest) -> list[str]:
        """Symbols whose stored bars number fewer than the windows taken over from an earlier job brought."""
        if not inherited:
            return []
        start, end = exchange_day_bounds(request.from_, request.to)
        if MARKET in inherited:
            stats = await self.bars.stats_many(code, request.adjusted, start, end, None)
            stored = sum(item.count for item in stats.values())
            return [MARKET] if stored < inherited[MARKET] else []
        stats = await self.bars.stats_many(code, request.adjusted, start, end, sorted(inherited))
        return [
            symbol
            for symbol, bars in inherited.items()
            if (stats[symbol].count if symbol in stats else 0) < bars
        ]

    async def _register(
        self,
        request: FetchRequest,
        source: str,
        code: str,
        progress: dict[str, SymbolProgress],
        result: RunResult,
        *,
        market: bool,
        resumed: dict[str, int],
    ) -> list[Dataset]:
        """Register (or refresh) the dataset of every symbol that has bars or fully succeeded."""
        start, end = exchange_day_bounds(request.from_, request.to)
        if market:
            stats = await self.bars.stats_many(code, request.adjusted, start, end, None, source=source)
            symbols = sorted(set(stats) - result.refused.keys())
        else:
            symbols = [
                symbol
                for symbol, item in progress.items()
                if not _conflicted(item) and symbol not in result.refused
            ]
            stats = await self.bars.stats_many(code, request.adjusted, start, end, symbols)
            symbols = [
                symbol
                for symbol in symbols
                if symbol in stats or (progress[symbol].error is None and not result.stopped)
            ]
        datasets = await self.writer.register(
            [
                DatasetExtent(
                    key=SeriesKey.of(symbol=symbol, series=code, adjusted=request.adjusted),
                    source=source,
                    start=request.from_,
                    end=request.to,
                    stats=stats.get(symbol),
                )
                for symbol in symbols
            ]
        )
        for dataset in datasets:
            if dataset.symbol in progress:
                progress[dataset.symbol].table = dataset.table
        if self.quality is not None and len(datasets) <= ASSESS_AT_MOST:
            for dataset in datasets:
                item = progress.get(dataset.symbol)
                received = item.bars - resumed.get(dataset.symbol, 0) if item is not None else None
                await self.quality.assess(dataset, received=received)
                await self.bars.refresh_rollups(series_of(dataset))  # else the first long chart does it
        return datasets


def _conflicted(item: SymbolProgress) -> bool:
    """Whether a symbol was skipped for being stored from another source (it has no windows)."""
    return item.error is not None and item.windows_total == 0


def _describe_failures(progress: dict[str, SymbolProgress], result: RunResult) -> None:
    """Spell out each symbol's failed windows in its error: how many, which, and why."""
    by_label: dict[str, list[tuple[WindowKey, str]]] = {}
    for key, error in result.failed:
        by_label.setdefault(key.symbol, []).append((key, error))
    for label, failures in by_label.items():
        item = progress[label]
        failures.sort()
        listed = "; ".join(f"{key.first}..{key.last}: {error}" for key, error in failures[:_WINDOWS_LISTED])
        more = f"; and {len(failures) - _WINDOWS_LISTED} more" if len(failures) > _WINDOWS_LISTED else ""
        item.error = f"{len(failures)} of {item.windows_total} windows failed: {listed}{more}"
