"""Exports: a dataset's bars as Parquet, Arrow, CSV or JSON, streamed a chunk at a time.

Memory stays bounded whatever the size: bars are read half a year (intraday) or a decade (daily and
wider) at a time and each chunk is written out before the next is read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Final

import msgspec
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from schemas.bars import ARROW_STREAM_MEDIA_TYPE, BAR_ARROW_SCHEMA, SeriesKey
from schemas.datasets import exchange_day_bounds, series_of
from schemas.values import BarWidth, ExportFormat
from warehouse.catalog.datasets import DatasetRepository
from warehouse.clickhouse.bars import BarStore
from warehouse.errors import InvalidQuery

MEDIA_TYPES: Final[dict[ExportFormat, tuple[str, str]]] = {
    "parquet": ("application/vnd.apache.parquet", "parquet"),
    "arrow": (ARROW_STREAM_MEDIA_TYPE, "arrows"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "json": ("application/json", "json"),
}
"""Media type and file extension of each export format."""


class _Spool:
    """A write-only file that hands out what was written since the last :meth:`drain`."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0
        self.closed = False

    def write(self, data: bytes | memoryview) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        """Nothing to flush: bytes wait in memory until drained."""

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def parse_columns(raw: str | None) -> list[str]:
    """The columns asked for (``ts`` always first), checked against the bar schema.

    >>> parse_columns("close, volume")
    ['ts', 'close', 'volume']
    """
    if not raw:
        return list(BAR_ARROW_SCHEMA.names)
    names = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = sorted(set(names) - set(BAR_ARROW_SCHEMA.names))
    if unknown:
        known = ", ".join(BAR_ARROW_SCHEMA.names)
        raise InvalidQuery(f"unknown columns {', '.join(unknown)}; choose from {known}")
    return ["ts", *[name for name in dict.fromkeys(names) if name != "ts"]]


Window = tuple[dt.datetime, dt.datetime]


def _chunks(start: dt.datetime, end: dt.datetime, intraday: bool) -> Iterator[Window]:
    step_months = 6 if intraday else 120
    lower = start
    while lower <= end:
        month = lower.month - 1 + step_months
        upper = dt.datetime(lower.year + month // 12, month % 12 + 1, 1, tzinfo=dt.UTC)
        yield lower, min(end, upper - dt.timedelta(milliseconds=1))
        lower = upper


class _Writer:
    """Incremental writer of one format onto a spool."""

    def __init__(self, fmt: ExportFormat, schema: pa.Schema) -> None:
        self.fmt = fmt
        self.spool = _Spool()
        self.rows = 0
        self._sink = pa.PythonFile(self.spool, mode="w")
        self._writer: Any = None
        if fmt == "parquet":
            self._writer = pq.ParquetWriter(self._sink, schema, compression="zstd")
        elif fmt == "arrow":
            self._writer = pa.ipc.new_stream(self._sink, schema)
        elif fmt == "csv":
            self._writer = pa_csv.CSVWriter(self._sink, schema)
        else:
            self.spool.write(b"[")

    def write(self, table: pa.Table) -> bytes:
        if self.fmt == "json":
            rows = table.to_pylist()
            body = msgspec.json.encode(rows)[1:-1]
            if body:
                self.spool.write((b"," if self.rows else b"") + body)
        else:
            self._writer.write_table(table)
        self.rows += table.num_rows
        return self.spool.drain()

    def close(self) -> bytes:
        if self.fmt == "json":
            self.spool.write(b"]")
        else:
            self._writer.close()
        return self.spool.drain()


class Exporter:
    """Streams datasets out of the bar store."""

    def __init__(self, catalog: DatasetRepository, bars: BarStore) -> None:
        self.catalog = catalog
        self.bars = bars

    async def stream(
        self,
        table: str,
        fmt: ExportFormat,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        columns: Sequence[str] | None = None,
    ) -> AsyncIterator[bytes]:
        """The bytes of dataset ``table`` in ``fmt``, within ``[start, end]`` when given.

        Raises:
            NotFound: no such dataset (raised before the first byte).
            InvalidQuery: unknown columns or an inverted window.
        """
        dataset = await self.catalog.get(table)
        names = list(columns or BAR_ARROW_SCHEMA.names)
        schema = pa.schema([BAR_ARROW_SCHEMA.field(name) for name in names])
        first, last = exchange_day_bounds(dataset.date_range.from_, dataset.date_range.to)
        lower, upper = max(start or first, first), min(end or last, last)
        if start is not None and end is not None and end < start:
            raise InvalidQuery("'to' is before 'from'")
        ref = series_of(dataset)
        return self._generate(ref, fmt, schema, lower, upper, BarWidth.of(ref.series).is_intraday)

    async def _generate(
        self,
        ref: SeriesKey,
        fmt: ExportFormat,
        schema: pa.Schema,
        lower: dt.datetime,
        upper: dt.datetime,
        intraday: bool,
    ) -> AsyncIterator[bytes]:
        writer = _Writer(fmt, schema)
        for chunk_start, chunk_end in _chunks(lower, upper, intraday):
            chunk = await self.bars.export_chunk(ref, chunk_start, chunk_end, schema.names)
            if chunk.num_rows:
                data = writer.write(chunk)
                if data:
                    yield data
        yield writer.close()
