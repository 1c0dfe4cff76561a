"""Exports: a dataset's bars as Parquet, Arrow, CSV or JSON, streamed a chunk at a time.

Memory stays bounded whatever the size: bars are read half a year (intraday) or a decade (daily and
wider) at a time and each chunk is written out before the next is read.

A *lake* (``k2q export --partitioned``) is Hive-partitioned Parquet with one series per partition:
``width=1minute/adjusted=true/source=polygon/symbol=AAPL/year=2024/<dataset>.parquet``.
:func:`lake_plan` says which files make it up; the CLI writes them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from pathlib import PurePosixPath
from typing import Any, Final, NamedTuple
from urllib.parse import quote

import msgspec
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from schemas.bars import ARROW_STREAM_MEDIA_TYPE, BAR_ARROW_SCHEMA, SeriesKey
from schemas.datasets import Dataset, exchange_day_bounds, outside_supported_times, series_of
from schemas.values import SUPPORTED_TIMES, BarWidth, ExportFormat
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


def _check_within_supported_times(
    dataset: Dataset, start: dt.datetime | None, end: dt.datetime | None
) -> None:
    """Refuse, before any byte is sent, an export that would reach bars outside the supported times.

    Only datasets stored before the limits were enforced hold such bars; cutting the stream when
    the first of them is met would leave a truncated file.
    """
    early, late = outside_supported_times(dataset)
    if (early and start is None) or (late and end is None):
        raise InvalidQuery(
            f"dataset {dataset.table} holds bars outside the supported times, {SUPPORTED_TIMES}"
            " (stored before they were enforced): export a window within them with from/to, or delete it"
        )


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
            InvalidQuery: unknown columns, an inverted window, or a dataset stored before the
                supported times were enforced that reaches outside them (raised before the first byte).
        """
        dataset = await self.catalog.get(table)
        _check_within_supported_times(dataset, start, end)
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


LAKE_KEYS: Final = ("width", "adjusted", "source", "symbol", "year")
"""The Hive partition keys of a lake, outermost first; none is a column inside the files.

``width``, ``adjusted`` and ``symbol`` identify the series; ``source`` is a function of the series
(one series never mixes sources) kept as a key so that the demo's synthetic bars and imported files
can be told from market data, or left out, without reading a file; ``year`` is the UTC year of
``ts``. Width and adjustment come first because no query mixes them: one width's directory is the
whole universe at that width, as a cross-section reads it.
"""


def hive_value(value: str) -> str:
    """``value`` as a Hive partition value: any character but ``A-Z a-z 0-9 _ . - ~`` percent-escaped.

    Polars, DuckDB, Spark and Hive unescape it on reading, so the partition column reads ``value``.

    >>> hive_value("X:BTCUSD")
    'X%3ABTCUSD'
    """
    if value.strip(".") == "":
        raise ValueError(f"not a partition value: {value!r}")
    return quote(value, safe="")


class LakeFile(NamedTuple):
    """One file of a lake: the bars of dataset ``table`` within ``[start, end]`` (one UTC year at most)."""

    table: str
    path: PurePosixPath
    """Relative to the lake's root."""
    start: dt.datetime
    end: dt.datetime


class LakeSeries(NamedTuple):
    """One series of a lake and the files that hold it."""

    ref: SeriesKey
    directory: PurePosixPath
    """Where its files go: ``width=…/adjusted=…/source=…/symbol=…``."""
    anywhere: str
    """A glob of the series' directory under any source, where an earlier export may have left it."""
    files: list[LakeFile]


_MS: Final = dt.timedelta(milliseconds=1)


def _width(ref: SeriesKey) -> str:
    # The spelling of dataset names ("1minute", "1month"): bar-width codes would put "1m" and "1M"
    # side by side, the same directory on a case-insensitive file system.
    return f"{ref.multiplier}{ref.timespan}"


def _windows(
    members: list[Dataset], start: dt.datetime | None, end: dt.datetime | None
) -> Iterator[tuple[Dataset, dt.datetime, dt.datetime]]:
    """Each dataset of one series with the part of ``[start, end]`` no earlier-starting one covers."""
    covered: dt.datetime | None = None
    for dataset in sorted(members, key=lambda d: (d.date_range.from_, -d.date_range.to.toordinal(), d.table)):
        lower, upper = exchange_day_bounds(dataset.date_range.from_, dataset.date_range.to)
        if start is not None:
            lower = max(lower, start)
        if covered is not None:
            lower = max(lower, covered + _MS)
        if end is not None:
            upper = min(upper, end)
        if lower <= upper:
            covered = upper if covered is None else max(covered, upper)
            yield dataset, lower, upper


def lake_plan(
    datasets: Iterable[Dataset], start: dt.datetime | None = None, end: dt.datetime | None = None
) -> list[LakeSeries]:
    """The files of a lake holding each dataset's series once, within ``[start, end]`` when given.

    Datasets are views over the stored series, so two of one series may overlap: each bar is
    written once, from the earliest dataset that covers it. Files are cut at UTC year boundaries.
    """
    groups: dict[SeriesKey, list[Dataset]] = {}
    for dataset in datasets:
        groups.setdefault(series_of(dataset), []).append(dataset)
    plan = []
    for ref in sorted(groups, key=lambda ref: (ref.symbol, _width(ref), ref.adjusted)):
        members = groups[ref]
        source = max(members, key=lambda dataset: dataset.updated_at).source
        head = PurePosixPath(f"width={hive_value(_width(ref))}", f"adjusted={str(ref.adjusted).lower()}")
        symbol = f"symbol={hive_value(ref.symbol)}"
        directory = head / f"source={hive_value(source)}" / symbol
        files = [
            LakeFile(
                dataset.table,
                directory / f"year={year}" / f"{dataset.table}.parquet",
                max(lower, dt.datetime(year, 1, 1, tzinfo=dt.UTC)),
                min(upper, dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC) - _MS),
            )
            for dataset, lower, upper in _windows(members, start, end)
            for year in range(lower.year, upper.year + 1)
        ]
        plan.append(LakeSeries(ref, directory, str(head / "source=*" / symbol), files))
    return plan
