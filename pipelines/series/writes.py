"""The one write path for bars: claim their series, store them, register or extend their datasets, bump.

Every writer of bars goes through :class:`BarWriter`: a fetch (its windows, many symbols per
insert, then every dataset at once), a flat-file load (ClickHouse loads the files itself; the
datasets and versions follow), a file import, the live stream and the demo feed. So a series
changes in one way everywhere:

1. the series is claimed for the writer's source (see below): bars of another source are refused;
2. the bars are inserted (the bar store marks the days whose rollups must be rebuilt);
3. the datasets that view them are registered (or refreshed) or, for live series, extended;
4. each series' version is bumped over the span the bars reach, which is what tells chart
   ETags, the slice cache and the hot cache which months changed. A write that also registers
   bumps after the catalog, so a new version never meets a dataset's old bounds.

Batches stay batches: a multi-symbol insert claims and bumps all its symbols in one round trip
each, and many datasets are registered in one statement.

A series is never stored from two sources. Each writer run holds a :class:`Claim` (from
:meth:`BarWriter.holding`, or :meth:`BarWriter.keep` and :meth:`BarWriter.release`): it claims its
series before it starts (refusing, in its own words, those bound to another source), every write
claims the series it stores again in the same step as the check (see
:mod:`warehouse.catalog.claims`), the claims are refreshed while the run lasts and dropped when it
ends; by then the datasets registered bind the series to the source.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator, Sequence

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.errors import PipelineClientError
from pipelines.series.versions import SeriesVersions, Span
from schemas.bars import SeriesKey, bar_value_problem
from schemas.datasets import Dataset, dataset_name, series_of
from schemas.values import parse_series_code
from warehouse.catalog.claims import CLAIM_REFRESH, MARKET, ClaimConflict, ClaimRepository, SeriesCode
from warehouse.catalog.datasets import DatasetRecord, DatasetRepository
from warehouse.clickhouse.bars import BarStore, SeriesStats

__all__ = ["CLAIM_REFRESH", "BarWriter", "BarsRefused", "Claim", "DatasetExtent", "SourceConflict", "Written"]

_log = logging.getLogger(__name__)


class BarsRefused(PipelineClientError):
    """Bars outside the supported times or value limits (see :func:`schemas.bars.bar_value_problem`)."""


class SourceConflict(PipelineClientError):
    """The series is already stored (or being stored) from another source; mixing them would corrupt it.

    ``symbol`` and ``source`` name the series' symbol and the source it is bound to; ``dataset``
    that source's dataset of it (``None``: it is being stored from that source now).
    """

    def __init__(
        self, message: str, *, symbol: str = "", source: str = "", dataset: str | None = None
    ) -> None:
        super().__init__(message)
        self.symbol = symbol
        self.source = source
        self.dataset = dataset

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
        return cls.refused(
            ClaimConflict(symbol=other.symbol, source=other.source, dataset=other.table, market=False),
            series_of(other).series,
            doing,
        )

    @classmethod
    def refused(cls, conflict: ClaimConflict, series: str, doing: str) -> SourceConflict:
        """The refusal of a claim on ``series`` of ``conflict.symbol``, before ``doing`` something.

        >>> being = ClaimConflict(symbol="SPY", source="file", dataset=None, market=False)
        >>> str(SourceConflict.refused(being, "1m", "fetching from polygon"))  # doctest: +ELLIPSIS
        'SPY 1m bars are being stored from file right now; try again when that has finished (then...)'
        >>> lease = ClaimConflict(symbol="*", source="polygon", dataset=None, market=True)
        >>> str(SourceConflict.refused(lease, "1d", "loading flat files"))  # doctest: +ELLIPSIS
        '1d bars of the whole market are being stored from polygon right now; try again when...'
        """
        symbol, source = conflict.symbol, conflict.source
        if conflict.dataset is not None:
            text = (
                f"{symbol} {series} bars are stored from {source} (dataset {conflict.dataset});"
                f" delete it before {doing}"
            )
        elif symbol == MARKET:
            text = f"{series} bars of the whole market are being stored from {source} right now"
            text += "; try again when that has finished"
        elif conflict.market:
            text = f"{symbol} {series} bars are being stored from {source} right now (a whole-market load)"
            text += "; try again when that has finished"
        else:
            text = (
                f"{symbol} {series} bars are being stored from {source} right now; try again when that"
                f" has finished (then delete its dataset before {doing})"
            )
        return cls(text, symbol=symbol, source=source, dataset=conflict.dataset)


class Claim(msgspec.Struct, frozen=True, kw_only=True):
    """One writer run's hold on the series it writes: its source and what it does, in words.

    ``doing`` completes refusals: "… delete it before *fetching from polygon*". ``holder`` tells
    this run's claims from those of other runs of the same source.
    """

    source: str
    doing: str
    holder: str = msgspec.field(default_factory=lambda: uuid.uuid4().hex)


def _code(series: str, adjusted: bool) -> SeriesCode:
    multiplier, timespan = parse_series_code(series)
    return SeriesCode(multiplier=multiplier, timespan=timespan, adjusted=adjusted)


class Written(msgspec.Struct, frozen=True, kw_only=True):
    """What a write stored: how many rows were sent, the first and last bar's start, who was refused."""

    rows: int
    span: Span | None
    """``None`` when there were no rows (nothing was stored or bumped)."""
    refused: dict[str, str] = msgspec.field(default_factory=dict)
    """Symbols whose rows were dropped, their series bound to another source: why, in words."""


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
    """Claims series, stores bars, registers or extends their datasets and bumps their series' versions.

    Args:
        bars: The bar store (it marks rollups dirty on every insert).
        catalog: The dataset catalog.
        versions: Series versions (chart ETags, the slice and hot caches follow them).
        claims: Which source each series is being written from.
    """

    def __init__(
        self, bars: BarStore, catalog: DatasetRepository, versions: SeriesVersions, claims: ClaimRepository
    ) -> None:
        self.bars = bars
        self.catalog = catalog
        self.versions = versions
        self.claims = claims
        self._keepers: dict[str, asyncio.Task[None]] = {}

    @contextlib.asynccontextmanager
    async def holding(self, source: str, doing: str) -> AsyncIterator[Claim]:
        """A claim for one writer run from ``source``: refreshed while it runs, released when it ends."""
        claim = Claim(source=source, doing=doing)
        self.keep(claim)
        try:
            yield claim
        finally:
            try:
                await self.release(claim)
            except Exception as exc:  # the claims lapse after CLAIM_TTL: not worth the run's outcome
                _log.warning("releasing the claims of %s failed: %s", claim.doing, exc)

    def keep(self, claim: Claim) -> None:
        """Refresh ``claim``'s claims every :data:`CLAIM_REFRESH` until :meth:`release` (idempotent)."""
        if claim.holder not in self._keepers:
            self._keepers[claim.holder] = asyncio.create_task(
                self._keep(claim), name=f"claims of {claim.source} {claim.holder}"
            )

    async def refresh(self, claim: Claim) -> None:
        """Mark ``claim``'s claims as made now (a writer that runs long does, every :data:`CLAIM_REFRESH`)."""
        await self.claims.refresh(claim.holder)

    async def _keep(self, claim: Claim) -> None:
        while True:
            await asyncio.sleep(CLAIM_REFRESH.total_seconds())
            try:
                await self.refresh(claim)
            except Exception as exc:  # the next refresh (or write) claims again, well within the TTL
                _log.warning("refreshing the claims of %s failed: %s", claim.doing, exc)

    async def release(self, claim: Claim) -> None:
        """Stop refreshing ``claim`` and drop its claims: its series are bound by their datasets alone."""
        keeper = self._keepers.pop(claim.holder, None)
        if keeper is not None:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        await self.claims.release(claim.holder)

    async def claim(
        self, series: str, adjusted: bool, symbols: Sequence[str], claim: Claim
    ) -> dict[str, SourceConflict]:
        """Claim ``symbols``' ``series`` (``adjusted``) for ``claim``; return those refused, and why.

        A symbol is refused when its series is stored from another source (a dataset), or being
        stored from one (another writer's claim, or its whole-market lease).
        """
        refused = await self.claims.claim(
            _code(series, adjusted), symbols, source=claim.source, holder=claim.holder
        )
        return {
            symbol: SourceConflict.refused(conflict, series, claim.doing)
            for symbol, conflict in refused.items()
        }

    async def lease_market(self, series: str, adjusted: bool, claim: Claim) -> SourceConflict | None:
        """Lease every symbol's ``series`` (``adjusted``) for ``claim``, or say who holds the lease.

        The leaseholder must leave out the symbols :meth:`others` names (bound to other sources
        before the lease); while it holds the lease no other source binds a new symbol.
        """
        refused = await self.claims.claim(
            _code(series, adjusted), [MARKET], source=claim.source, holder=claim.holder
        )
        return SourceConflict.refused(refused[MARKET], series, claim.doing) if MARKET in refused else None

    async def others(self, series: str, adjusted: bool, source: str) -> set[str]:
        """Symbols whose ``series`` (``adjusted``) is stored, or being stored, from another source."""
        return await self.claims.others(_code(series, adjusted), source)

    def _checked(self, table: pa.Table) -> pa.Table:
        """The bars to store: the one place where what every writer stores is checked.

        Raises:
            BarsRefused: a bar starts outside the supported times or has an impossible price or
                volume (files are checked row by row before; this catches providers and streams).
        """
        problem = bar_value_problem(table)
        if problem is not None:
            raise BarsRefused(f"bars not stored: {problem}")
        return table

    async def write(
        self, key: SeriesKey, claim: Claim, bars: pa.RecordBatch | pa.Table, *, bump: bool = True
    ) -> Written:
        """Store bars of one series (columns of ``BAR_ARROW_SCHEMA``) and bump it over their span.

        The series is claimed for ``claim`` first, in the same step as the check that no other
        source holds it. With ``bump=False`` the caller bumps with the datasets it registers next
        (:meth:`register` or :meth:`extend` with ``changed``), after the catalog.

        Raises:
            SourceConflict: the series is stored, or being stored, from another source.
        """
        table = pa.Table.from_batches([bars]) if isinstance(bars, pa.RecordBatch) else bars
        if table.num_rows == 0:
            return Written(rows=0, span=None)
        table = self._checked(table)
        refused = await self.claim(key.series, key.adjusted, [key.symbol], claim)
        if refused:
            raise refused[key.symbol]
        rows = await self.bars.insert(key, claim.source, table)
        span = _span(table.column("ts"))
        if bump:
            await self.versions.bump(key, span)
        return Written(rows=rows, span=span)

    async def write_symbols(self, series: str, adjusted: bool, claim: Claim, table: pa.Table) -> Written:
        """Store bars of many symbols of one series code in one insert; bump each symbol's series.

        ``table`` holds a ``symbol`` column and the columns of ``BAR_ARROW_SCHEMA``. Every symbol is
        claimed for ``claim`` in one round trip; the rows of those refused are dropped (and named
        in :attr:`Written.refused`). The others are bumped over the span of the rows stored, in
        one round trip.
        """
        if table.num_rows == 0:
            return Written(rows=0, span=None)
        table = self._checked(table)
        symbols = pc.unique(table.column("symbol")).to_pylist()
        refused = await self.claim(series, adjusted, symbols, claim)
        if refused:
            keep = pc.invert(pc.is_in(table.column("symbol"), pa.array(sorted(refused), pa.string())))
            table = table.filter(keep)
            symbols = [symbol for symbol in symbols if symbol not in refused]
        reasons = {symbol: str(conflict) for symbol, conflict in refused.items()}
        if table.num_rows == 0:
            return Written(rows=0, span=None, refused=reasons)
        rows = await self.bars.insert_symbols(series, adjusted, claim.source, table)
        span = _span(table.column("ts"))
        await self.versions.bump_many(
            (SeriesKey.of(symbol=symbol, series=series, adjusted=adjusted) for symbol in symbols), span
        )
        return Written(rows=rows, span=span, refused=reasons)

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
