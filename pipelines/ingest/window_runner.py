"""Running a fetch's windows: concurrent fetches feeding one writer that batches inserts and checkpoints.

Up to ``concurrency`` windows are fetched at once (across every symbol of the job). Their pages
go through a bounded queue to a single writer, which buffers them, stores them in ClickHouse in
large multi-symbol inserts, and only then marks the windows whose pages were all stored as done.
Memory is bounded: the queue holds at most :data:`QUEUE_DEPTH` pages, the buffer at most about
:data:`FLUSH_ROWS` rows (plus one page), and each running window at most one page it is handing over.

Every insert claims its symbols' series for the run (see :mod:`pipelines.series.writes`): a symbol
whose series turned out to be bound to another source has its rows dropped, its windows failed
with the reason and its windows not yet started skipped; the others go on.

A window that fails (after the source's own retries) is recorded and the others go on; a
:class:`~pipelines.errors.SourceAuthError` stops every window, since no other request can
succeed with that key. Setting the ``stop`` event (a cancelled job) stops the windows at once;
what was fetched so far is still stored and checkpointed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.errors import PipelineError, SourceAuthError
from pipelines.series.writes import BarsRefused, BarWriter, Claim
from schemas.bars import bar_value_problem
from schemas.jobs import SymbolProgress
from warehouse.catalog.fetch_windows import FetchWindowRepository, WindowKey

FLUSH_ROWS: Final = 250_000
"""Rows buffered before they are inserted (large inserts are what ClickHouse is fast at)."""
FLUSH_INTERVAL_S: Final = 1.0
"""Longest a finished window waits for its bars to be stored and checkpointed."""
QUEUE_DEPTH: Final = 16
"""Pages waiting for the writer; fetching pauses while it is full."""
PROGRESS_INTERVAL_S: Final = 0.25

ProgressSink = Callable[[list[SymbolProgress]], Awaitable[None]]
"""Receives every symbol's progress, at most every :data:`PROGRESS_INTERVAL_S` and once at the end."""


@dataclass(frozen=True)
class WindowUnit:
    """One window to fetch: its checkpoint key, its progress entry, and how to fetch it.

    ``fetch()`` yields tables of the bar columns plus a ``symbol`` column, in that order.
    """

    key: WindowKey
    label: str
    fetch: Callable[[], AsyncIterator[pa.Table]]


@dataclass
class RunResult:
    """What running the windows did."""

    stored: int = 0
    failed: list[tuple[WindowKey, str]] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    """Symbols whose rows the write path refused (their series is bound to another source): why."""
    fatal: PipelineError | None = None
    stopped: bool = False


class _End:
    """Tells the writer that no more pages come."""


@dataclass(frozen=True)
class _Page:
    unit: WindowUnit
    table: pa.Table


@dataclass(frozen=True)
class _Finished:
    unit: WindowUnit
    rows: int


@dataclass(frozen=True)
class _Failed:
    unit: WindowUnit
    error: str


_Item = _Page | _Finished | _Failed | _End


class Reporter:
    """Throttles progress reports to a sink."""

    def __init__(self, progress: list[SymbolProgress], sink: ProgressSink | None) -> None:
        self.progress = progress
        self.sink = sink
        self.last = 0.0

    async def flush(self, *, force: bool = False) -> None:
        """Send the progress if the last report is old enough (or ``force``)."""
        now = time.monotonic()
        if self.sink is None or (not force and now - self.last < PROGRESS_INTERVAL_S):
            return
        self.last = now
        await self.sink(self.progress)


class WindowRunner:
    """Fetches windows concurrently and stores their bars through one batching writer.

    Args:
        writer: The write path: stores each batch and bumps the version of every symbol in it.
        series: Series code of every window's bars (``1m``, ``1d`` …).
        adjusted: Their adjustment.
        claim: The run's claim (its source is stored with each bar).
        progress: Progress entries by label; the runner counts windows and bars into them.
        reporter: Where progress goes.
        checkpoints: Where done and failed windows are recorded, with the job id (none: not recorded).
    """

    def __init__(
        self,
        writer: BarWriter,
        *,
        series: str,
        adjusted: bool,
        claim: Claim,
        progress: dict[str, SymbolProgress],
        reporter: Reporter,
        checkpoints: tuple[FetchWindowRepository, str] | None,
    ) -> None:
        self.writer = writer
        self.series = series
        self.adjusted = adjusted
        self.claim = claim
        self.progress = progress
        self.reporter = reporter
        self.checkpoints = checkpoints
        self.result = RunResult()
        self._buffer: list[tuple[str, pa.Table]] = []
        self._buffered = 0
        self._finished: list[tuple[WindowUnit, int]] = []
        self._last_flush = time.monotonic()

    async def run(
        self, units: Sequence[WindowUnit], concurrency: int, stop: asyncio.Event | None = None
    ) -> RunResult:
        """Fetch and store every unit; return when all are done, failed, or stopped.

        Raises:
            WarehouseError: storing or checkpointing failed (fetching stops).
        """
        queue: asyncio.Queue[_Item] = asyncio.Queue(QUEUE_DEPTH)
        pending = iter(units)
        abort = asyncio.Event()

        async def work() -> None:
            for unit in pending:  # one iterator shared by every worker: each unit is taken once
                if abort.is_set():
                    return
                if unit.label in self.result.refused:  # its series is another source's
                    await queue.put(_Failed(unit, self.result.refused[unit.label]))
                    continue
                rows = 0
                try:
                    async for table in unit.fetch():
                        problem = bar_value_problem(table)
                        if problem is not None:  # a malformed page fails its window; the others go on
                            raise BarsRefused(f"{unit.label} {unit.key.first}..{unit.key.last}: {problem}")
                        rows += table.num_rows
                        await queue.put(_Page(unit, table))
                except SourceAuthError as exc:
                    message = f"{unit.label} {unit.key.first}..{unit.key.last}: {exc}"
                    self.result.fatal = SourceAuthError(message, source=exc.source, status=exc.status)
                    abort.set()
                    return
                except PipelineError as exc:
                    await queue.put(_Failed(unit, str(exc)))
                else:
                    await queue.put(_Finished(unit, rows))

        workers = [asyncio.create_task(work()) for _ in range(max(1, min(concurrency, len(units))))]
        writer = asyncio.create_task(self._write(queue))
        fetching = asyncio.gather(*workers)
        watchers = [asyncio.create_task(abort.wait())]
        if stop is not None:
            watchers.append(asyncio.create_task(stop.wait()))
        try:
            waits: list[asyncio.Future[Any]] = [fetching, writer, *watchers]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            if writer.done():  # it only ends early by failing
                fetching.cancel()
                await writer
            if not fetching.done():
                self.result.stopped = stop is not None and stop.is_set()
                fetching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await fetching
            await queue.put(_End())
            await writer
        finally:
            for task in [*workers, writer, *watchers]:
                task.cancel()
            await asyncio.gather(*workers, writer, *watchers, return_exceptions=True)
        if stop is not None and stop.is_set():
            self.result.stopped = True
        return self.result

    async def _write(self, queue: asyncio.Queue[_Item]) -> None:
        """Buffer pages, insert them in large batches, then checkpoint the windows they finished."""
        while True:
            waiting = bool(self._buffer or self._finished)
            timeout = max(0.0, self._last_flush + FLUSH_INTERVAL_S - time.monotonic()) if waiting else None
            try:
                item = await asyncio.wait_for(queue.get(), timeout)
            except TimeoutError:
                await self._flush()
                continue
            match item:
                case _End():
                    await self._flush()
                    return
                case _Page(unit=unit, table=table):
                    if unit.label in self.result.refused:
                        continue
                    self._buffer.append((unit.label, table))
                    self._buffered += table.num_rows
                    if self._buffered >= FLUSH_ROWS:
                        await self._flush()
                case _Finished(unit=unit, rows=rows):
                    self._finished.append((unit, rows))
                case _Failed(unit=unit, error=error):
                    await self._fail(unit, error)

    async def _flush(self) -> None:
        """Insert the buffered pages, then mark done the windows that finished before them."""
        self._last_flush = time.monotonic()
        if self._buffer:
            pages, self._buffer = self._buffer, []
            self._buffered = 0
            table = pa.concat_tables([page for _, page in pages])
            written = await self.writer.write_symbols(self.series, self.adjusted, self.claim, table)
            self.result.stored += written.rows
            self.result.refused.update(written.refused)
            refused = pa.array(sorted(written.refused), pa.string())
            for label, page in pages:
                stored = page.num_rows
                if written.refused:
                    stored -= int(pc.sum(pc.is_in(page.column("symbol"), refused)).as_py() or 0)
                self.progress[label].bars += stored
        if self._finished:
            finished, self._finished = self._finished, []
            for unit, _ in finished:
                if unit.label in self.result.refused:
                    await self._fail(unit, self.result.refused[unit.label])
            finished = [(unit, rows) for unit, rows in finished if unit.label not in self.result.refused]
            if self.checkpoints is not None:
                repository, job_id = self.checkpoints
                await repository.mark_done(job_id, [(unit.key, rows) for unit, rows in finished])
            for unit, _ in finished:
                self.progress[unit.label].windows_done += 1
        await self.reporter.flush()

    async def _fail(self, unit: WindowUnit, error: str) -> None:
        """Record a failed window: in the checkpoints, the result and its progress entry."""
        self.result.failed.append((unit.key, error))
        if self.checkpoints is not None:
            repository, job_id = self.checkpoints
            await repository.mark_failed(job_id, unit.key, error)
        item = self.progress[unit.label]
        item.windows_failed += 1
        if item.error is None:
            item.error = f"{unit.key.first}..{unit.key.last}: {error}"
        await self.reporter.flush()
