"""Live bars into K2 Quant: each closed minute stored once, its datasets kept current, and announced.

:class:`LiveRecorder` takes what a live feed (:mod:`pipelines.ingest.sources.feeds`) delivers and, per
batch:

1. stores the closed minute bars of each symbol in its ``1m`` series (a ReplacingMergeTree, so a
   bar that arrives twice — a reconnect, a backfill overlapping the stream — is one bar);
2. when the symbol has a current daily dataset from the same source, rebuilds that day's bar from
   the day's stored minutes, so a daily chart moves too;
3. keeps one dataset per series current: the series' most recent dataset from the same source
   when it reaches into the last :data:`RECENT_DAYS` days (its range is widened to today), else a
   new ``<symbol>_1minute_<first day>_live`` one, registered with the first bar;
4. bumps the versions of the series written (chart ETags and caches depend on them);
5. publishes a ``stock_update`` per closed bar (the newest :data:`MAX_EVENTS_PER_SYMBOL` of a
   large backfill) and per open bar (the minute in progress, stored only once it closes).

A recorder claims its symbols' minute series for its source when it prepares them (a symbol
stored, or being stored, from another source is refused in words), refreshes its claims as
batches come, and drops them on :meth:`LiveRecorder.close`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.errors import PipelineClientError
from pipelines.indicators.live_tails import LiveTails
from pipelines.indicators.outputs import IndicatorOutputs
from pipelines.indicators.specs import IndicatorSpec
from pipelines.ingest.sources.feeds import LiveBars, LiveFeed
from pipelines.publish import EventPublisher
from pipelines.series.versions import SeriesVersions, Span
from pipelines.series.writes import CLAIM_REFRESH, BarWriter, Claim, DatasetExtent, SourceConflict
from schemas.bars import BAR_ARROW_SCHEMA, TS_TYPE, SeriesKey, bar_value_problem
from schemas.datasets import Dataset, dataset_name, exchange_day_bounds, series_of
from schemas.events import StockUpdate
from schemas.indicators import IndicatorCalculated
from schemas.values import NEW_YORK, SourceName, Timespan
from warehouse.catalog.datasets import DatasetRepository
from warehouse.clickhouse.bars import BarStore, SeriesStats

__all__ = ["MAX_EVENTS_PER_SYMBOL", "RECENT_DAYS", "LiveRecorder", "LiveSourceConflict", "run_live"]

MAX_EVENTS_PER_SYMBOL: Final = 120
"""Most ``stock_update`` events per symbol for one batch (a long backfill announces its newest bars)."""
RECENT_DAYS: Final = 7
"""A dataset whose range ends within this many days of today is extended by live bars."""
_DAY_MINUTES: Final = 1_440

_log = logging.getLogger(__name__)


class LiveSourceConflict(PipelineClientError):
    """The symbol's minute bars are stored from another source; live bars would mix two sources."""


@dataclass
class _Tracked:
    """A dataset a live series keeps current (``table`` is ``None`` until its first bar)."""

    table: str | None
    ref: SeriesKey
    timespan: Timespan
    start: dt.date
    end: dt.date
    count: int
    first: dt.datetime | None
    last: dt.datetime | None

    def extent(self, source: str) -> DatasetExtent:
        """The dataset as the write path extends it (once it has a name)."""
        assert self.table is not None
        return DatasetExtent(
            key=self.ref,
            source=source,
            start=self.start,
            end=self.end,
            stats=SeriesStats(count=self.count, first=self.first, last=self.last),
            table=self.table,
        )


def _ny_day(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, NEW_YORK).date()


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), NEW_YORK)


def _utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def _sorted_unique(tables: Sequence[pa.RecordBatch]) -> pa.Table:
    """One table of the batches' bars, ``ts`` ascending, the last copy of a repeated minute kept."""
    table = pa.Table.from_batches(list(tables), schema=BAR_ARROW_SCHEMA)
    ts = table.column("ts").cast(pa.int64()).to_numpy()
    # Reverse before a stable unique so the last occurrence of each minute wins.
    _, last = np.unique(ts[::-1], return_index=True)
    keep = np.sort(len(ts) - 1 - last)
    return table.take(pa.array(keep))


def _day_bar(minutes: pa.Table, day: dt.date) -> pa.Table:
    """The day bar (stamped at New York midnight) of one day's minute bars."""
    volume = minutes.column("volume")
    total = pc.sum(volume).as_py() or 0.0
    priced = minutes.filter(pc.is_valid(minutes.column("vwap")))
    weight = pc.sum(priced.column("volume")).as_py() or 0.0
    weighted = pc.sum(pc.multiply(priced.column("vwap"), priced.column("volume"))).as_py()
    vwap = weighted / weight if weighted is not None and weight > 0 else None
    counts = minutes.column("transactions")
    transactions = pc.sum(counts).as_py() if counts.null_count < len(counts) else None
    midnight = _midnight(day)
    return pa.table(
        {
            "ts": pa.array([_ms(midnight)], TS_TYPE),
            "open": [minutes.column("open")[0].as_py()],
            "high": [pc.max(minutes.column("high")).as_py()],
            "low": [pc.min(minutes.column("low")).as_py()],
            "close": [minutes.column("close")[-1].as_py()],
            "volume": [total],
            "vwap": pa.array([vwap], pa.float64()),
            "transactions": pa.array(
                [None if transactions is None else min(transactions, 2**32 - 1)], pa.uint32()
            ),
        },
        schema=BAR_ARROW_SCHEMA,
    )


class LiveRecorder:
    """Stores live bars, keeps their datasets current, bumps versions and publishes ``stock_update``.

    Args:
        bars: The bar store.
        catalog: The dataset catalog.
        versions: Series versions (bumped after each write).
        publisher: Where events go.
        source: The feed's source name (stored with every bar and dataset).
        adjusted: Which series of each symbol live bars belong to (today's minutes are the same
            in both; the split-adjusted series is the one charts show by default).
        today: The current New York date; injectable for tests.
        writer: The write path for bars (over the same stores).
        indicators: Stored indicator outputs, extended (and announced) as each batch is stored.
    """

    def __init__(
        self,
        bars: BarStore,
        catalog: DatasetRepository,
        versions: SeriesVersions,
        publisher: EventPublisher,
        *,
        source: SourceName,
        adjusted: bool = True,
        today: Callable[[], dt.date] | None = None,
        writer: BarWriter,
        indicators: IndicatorOutputs | None = None,
    ) -> None:
        """Configure the recorder; :meth:`prepare` readies it for a set of symbols."""
        self.indicators = indicators
        self._specs: dict[str, IndicatorSpec] = {}
        self._tails = LiveTails(bars)
        self.bars = bars
        self.catalog = catalog
        self.versions = versions
        self.writer = writer
        self.publisher = publisher
        self.source: SourceName = source
        self.adjusted = adjusted
        self._today = today or (lambda: dt.datetime.now(NEW_YORK).date())
        self._minute: dict[str, _Tracked] = {}
        self._day: dict[str, _Tracked] = {}
        self.claim = Claim(source=source, doing=f"streaming live {source} bars")
        """The recorder's claim on the series it writes (until :meth:`close`)."""
        self._refreshed = time.monotonic()
        self.stored = 0
        """Closed bars stored so far (repeats included)."""

    def series_of(self, symbol: str) -> list[str]:
        """The series a symbol's live bars are written to (``1m``, and ``1d`` when kept current)."""
        return ["1m", "1d"] if symbol in self._day else ["1m"]

    def dataset_of(self, symbol: str) -> str | None:
        """The minute dataset the symbol's live bars extend (``None`` before the first bar)."""
        tracked = self._minute.get(symbol)
        return tracked.table if tracked else None

    async def prepare(self, symbols: Sequence[str]) -> dict[str, int | None]:
        """Find the datasets each symbol's live bars keep current (widening them to today).

        Returns:
            Per symbol, the start (epoch ms) of its last stored minute bar, for the feed to fill
            the gap from; for a symbol without a current minute dataset, the instant before New
            York midnight (its live dataset starts with today).

        Raises:
            LiveSourceConflict: a symbol's minute bars are stored, or being stored, from another source.
        """
        refused = await self.writer.claim("1m", self.adjusted, symbols, self.claim)
        if refused:
            if not self._minute:  # nothing recorded yet: hold nothing
                await self.writer.release(self.claim)
            raise LiveSourceConflict(self._refusal(next(refused[s] for s in symbols if s in refused)))
        since: dict[str, int | None] = {}
        today = self._today()
        for symbol in symbols:
            datasets = await self.catalog.for_symbol(symbol, self.adjusted)
            minute = SeriesKey.of(symbol=symbol, series="1m", adjusted=self.adjusted)
            tracked = await self._track(datasets, minute, "minute", today)
            self._minute[symbol] = tracked or _Tracked(
                table=None,
                ref=minute,
                timespan="minute",
                start=today,
                end=today,
                count=0,
                first=None,
                last=None,
            )
            day = await self._track(
                datasets, SeriesKey.of(symbol=symbol, series="1d", adjusted=self.adjusted), "day", today
            )
            if day is not None:
                self._day[symbol] = day
            else:
                self._day.pop(symbol, None)
            last = self._minute[symbol].last
            # A new live dataset starts with the day: the feed fills in today's minutes so far.
            since[symbol] = _ms(last) if last is not None else _ms(_midnight(today)) - 1
        return since

    def _refusal(self, conflict: SourceConflict) -> str:
        """Why live bars of a symbol are refused, in words."""
        symbol, other = conflict.symbol, conflict.source
        if conflict.dataset is not None:
            return (
                f"{symbol} minute bars are stored from {other}; live {self.source} bars would"
                f" mix sources in one series (delete those datasets first)"
            )
        return (
            f"{symbol} minute bars are being stored from {other} right now; live {self.source} bars would"
            f" mix sources in one series (try again when that has finished)"
        )

    async def close(self) -> None:
        """Drop the recorder's claims (its series stay bound to its source by their datasets)."""
        await self.writer.release(self.claim)

    async def _track(
        self, datasets: Sequence[Dataset], ref: SeriesKey, timespan: Timespan, today: dt.date
    ) -> _Tracked | None:
        """The series' most recent dataset from this source, if recent, widened to today."""
        own = [d for d in datasets if series_of(d) == ref and d.source == self.source]
        if not own:
            return None
        latest = max(
            own, key=lambda d: (d.date_range.to, d.last_bar or dt.datetime.min.replace(tzinfo=dt.UTC))
        )
        if latest.date_range.to < today - dt.timedelta(days=RECENT_DAYS):
            return None
        start, end = latest.date_range.from_, max(latest.date_range.to, today)
        stats = await self.bars.stats(ref, *exchange_day_bounds(start, end))
        tracked = _Tracked(
            table=latest.table,
            ref=ref,
            timespan=timespan,
            start=start,
            end=end,
            count=stats.count,
            first=stats.first,
            last=stats.last,
        )
        await self.writer.extend([tracked.extent(self.source)])
        return tracked

    async def record(self, batch: Sequence[LiveBars]) -> list[StockUpdate]:
        """Store, register, bump and publish one batch; return the events published.

        Raises:
            SourceConflict: a symbol's series went to another source (the recorder's claims lapsed).
        """
        if time.monotonic() - self._refreshed >= CLAIM_REFRESH.total_seconds():
            await self.writer.refresh(self.claim)
            self._refreshed = time.monotonic()
        closed: dict[str, list[pa.RecordBatch]] = {}
        for item in batch:
            if item.closed and item.bars.num_rows:
                closed.setdefault(item.symbol, []).append(item.bars)
        events: list[StockUpdate] = []
        for symbol, parts in closed.items():
            if symbol not in self._minute:
                await self.prepare([symbol])
            table = _sorted_unique(parts)
            problem = bar_value_problem(table)
            if problem is not None:  # a malformed event: drop it, the stream goes on
                _log.warning("live %s bars dropped: %s", symbol, problem)
                continue
            span = await self._store(self._minute[symbol], table)
            written = [self._minute[symbol]]
            if symbol in self._day:
                await self._roll_up_days(symbol, table)
                written.append(self._day[symbol])
            # the day bar is within a day of these minutes; the versions are bumped after the
            # catalog, so a new version never meets old bounds
            await self.writer.extend([tracked.extent(self.source) for tracked in written], changed=span)
            await self._extend_indicators([tracked.ref for tracked in written], span, table)
            events += self._events(
                symbol, table.slice(max(0, table.num_rows - MAX_EVENTS_PER_SYMBOL)), closed=True
            )
        provisional: list[IndicatorCalculated] = []
        for item in batch:
            if not item.closed and item.bars.num_rows:
                forming = pa.Table.from_batches([item.bars])
                events += self._events(item.symbol, forming, closed=False)
                if self.indicators is not None and item.symbol in self._minute:
                    provisional += self._tails.provisional(self._minute[item.symbol].ref, forming)
        for event in events:
            await self.publisher.publish(event)
        for update in provisional:
            await self.publisher.publish(update)
        return events

    async def _extend_indicators(self, refs: Sequence[SeriesKey], span: Span, table: pa.Table) -> None:
        """Extend the indicator outputs stored over ``refs``; they announce themselves to charts.

        A failure is logged, not raised: the bars are stored, and the outputs catch up when next read.
        """
        if self.indicators is None:
            return
        for ref in refs:
            try:
                early = self._tails.advance(ref, table)  # from memory: on charts within milliseconds
                for event in early.values():
                    await self.publisher.publish(event)
                for state, event in await self.indicators.extend_live(
                    ref, span, self._specs, frozenset(early)
                ):
                    if not event.points or event.points[-1].ts != state.last_ts:
                        continue
                    tail = self._tails.kept(state.key)
                    stored = event.points[-1].values
                    if tail is None or tail.state.last_ts != state.last_ts or not tail.agrees(stored):
                        await self._tails.keep(state, stored)  # read again from what is stored
            except Exception:
                _log.exception("live indicator update of %s %s failed", ref.symbol, ref.series)

    async def _store(self, tracked: _Tracked, table: pa.Table) -> Span:
        """Store bars of a tracked series and count them into it; its dataset and version follow.

        Returns the span of the bars stored.
        """
        ts = table.column("ts").cast(pa.int64())
        lo, hi = int(pc.min(ts).as_py()), int(pc.max(ts).as_py())
        ref = tracked.ref
        fresh = tracked.last is None or lo > _ms(tracked.last)  # the usual case: only new minutes
        before = 0 if fresh else (await self.bars.stats(ref, _utc(lo), _utc(hi))).count
        await self.writer.write(ref, self.claim, table, bump=False)
        self.stored += table.num_rows
        added = table.num_rows if fresh else (await self.bars.stats(ref, _utc(lo), _utc(hi))).count - before
        first_day, last_day = _ny_day(lo), _ny_day(hi)
        if tracked.table is None:
            name = dataset_name(ref.symbol, 1, tracked.timespan, first_day, first_day, ref.adjusted)
            tracked.table = name.replace(
                f"_{first_day.isoformat()}_{first_day.isoformat()}", f"_{first_day.isoformat()}_live"
            )
            tracked.start = first_day
        tracked.start = min(tracked.start, first_day)
        tracked.end = max(tracked.end, last_day)
        tracked.count += added
        tracked.first = _utc(lo) if tracked.first is None else min(tracked.first, _utc(lo))
        tracked.last = _utc(hi) if tracked.last is None else max(tracked.last, _utc(hi))
        return _utc(lo), _utc(hi)

    async def _roll_up_days(self, symbol: str, minutes: pa.Table) -> None:
        """Rebuild the day bars of the New York days ``minutes`` touch from every stored minute of them."""
        minute_ref = self._minute[symbol].ref
        days = sorted({_ny_day(ms) for ms in minutes.column("ts").cast(pa.int64()).to_pylist()})
        rolled = []
        for day in days:
            start, end = exchange_day_bounds(day, day)
            stored = await self.bars.page(minute_ref, start, end, 0, _DAY_MINUTES + 60)
            if stored.num_rows:
                rolled.append(_day_bar(stored, day))
        if rolled:
            await self._store(self._day[symbol], pa.concat_tables(rolled))

    def _events(self, symbol: str, table: pa.Table, *, closed: bool) -> list[StockUpdate]:
        series = self.series_of(symbol)
        return [
            StockUpdate(
                symbol=symbol,
                adjusted=self.adjusted,
                ts=int(row["ts"].timestamp() * 1000),
                open=row["open"],
                high=row["high"],
                low=row["low"],
                close=row["close"],
                volume=row["volume"],
                vwap=row["vwap"],
                transactions=row["transactions"],
                closed=closed,
                series=series,
                source=self.source,
            )
            for row in table.to_pylist()
        ]


async def run_live(
    feed: LiveFeed,
    recorder: LiveRecorder,
    on_events: Callable[[list[StockUpdate]], Awaitable[None] | None] | None = None,
) -> None:
    """Record everything ``feed`` delivers until cancelled (or the feed fails).

    The feed starts from each symbol's last stored minute, so a restart leaves no hole. The
    recorder's claims are dropped at the end.
    """
    try:
        since = await recorder.prepare(feed.symbols)
        async for batch in feed.updates(since):
            events = await recorder.record(batch)
            if on_events is not None:
                result = on_events(events)
                if asyncio.iscoroutine(result):
                    await result
    finally:
        await recorder.close()
