"""What every bar source offers: one series in, a stream of Arrow batches out."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Protocol

import pyarrow as pa

from schemas.bars import SeriesRequest
from schemas.values import SourceName

WindowProgress = Callable[[int, int, int], None]
"""Called as ``progress(windows_done, windows_total, bars_so_far)`` after each finished window."""


class BarSource(Protocol):
    """A source of bars for one series at a time."""

    name: SourceName

    def fetch(
        self, request: SeriesRequest, progress: WindowProgress | None = None
    ) -> AsyncIterator[pa.RecordBatch]:
        """Yield batches in :data:`schemas.bars.BAR_ARROW_SCHEMA` covering ``request``.

        Batches may arrive in any order and may overlap (the store deduplicates); every bar of
        the range is yielded at least once before the iterator ends.
        """
        ...
