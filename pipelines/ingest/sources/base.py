"""What every bar source offers: a request split into windows, each window a stream of Arrow batches.

The fetch path (:class:`pipelines.ingest.fetch.Fetcher`) plans a request's windows with
:meth:`BarSource.plan`, skips the windows a checkpoint says are stored, and runs the rest through
:meth:`BarSource.fetch_window` concurrently, at most :attr:`BarSource.concurrency` at once.
Sources that also serve a whole market per day implement :class:`MarketSource`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Protocol, runtime_checkable

import pyarrow as pa

from schemas.bars import SeriesRequest
from schemas.values import SourceName

Window = tuple[dt.date, dt.date]
"""A window's first and last exchange days, both inclusive."""

WindowProgress = Callable[[int, int, int], None]
"""Called as ``progress(windows_done, windows_total, bars_so_far)`` after each finished window."""


class BarSource(Protocol):
    """A source of bars for one series at a time."""

    name: SourceName

    @property
    def concurrency(self) -> int:
        """How many windows a fetch may run at once."""
        ...

    def plan(self, request: SeriesRequest) -> list[Window]:
        """Split ``request`` into contiguous, non-overlapping windows, in order.

        Raises:
            UnsupportedRequest: the source cannot serve the request.
        """
        ...

    def fetch_window(self, request: SeriesRequest, window: Window) -> AsyncIterator[pa.RecordBatch]:
        """Yield every bar of ``request`` within ``window``, in :data:`schemas.bars.BAR_ARROW_SCHEMA`.

        A window that ends without raising has yielded all its bars.
        """
        ...

    def fetch(
        self, request: SeriesRequest, progress: WindowProgress | None = None
    ) -> AsyncIterator[pa.RecordBatch]:
        """Yield batches in :data:`schemas.bars.BAR_ARROW_SCHEMA` covering the whole of ``request``.

        Batches may arrive in any order and may overlap (the store deduplicates); every bar of
        the range is yielded at least once before the iterator ends.
        """
        ...


@runtime_checkable
class MarketSource(Protocol):
    """A source of one day's bars for every ticker of a market in one request."""

    def plan_market(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """The days of ``[start, end]`` worth asking for (trading days)."""
        ...

    async def fetch_market_day(self, day: dt.date, adjusted: bool) -> pa.Table:
        """Every ticker's bar of ``day``: a ``symbol`` column, then :data:`schemas.bars.BAR_ARROW_SCHEMA`."""
        ...
