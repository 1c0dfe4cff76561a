"""Imports: a user's CSV or Parquet file of bars into the bar store, registered as a ``file`` dataset.

The whole file is read and checked before anything is stored (see :mod:`pipelines.ingest.bar_files`):
a file with any bad row stores nothing and is answered with its problems by line. A re-import of
the same file stores each bar once (the bar store keeps the newest copy of a bar), and a file
series never mixes with bars of another source: the series is claimed for ``file`` before the
file is read, so an import is refused while the series is stored, or being stored, from another
source (and a fetch of it is refused while the import runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path

from pipelines.errors import PipelineClientError
from pipelines.ingest.bar_files import BarFile, Rejected, line_of, read_bar_file
from pipelines.series.versions import SeriesVersions
from pipelines.series.writes import BarWriter, Claim, DatasetExtent
from schemas.bars import SeriesKey
from schemas.datasets import exchange_day_bounds, series_of
from schemas.imports import (
    MAX_IMPORT_BYTES,
    ImportFormat,
    ImportOptions,
    ImportProblem,
    ImportResult,
    ImportSummary,
)
from schemas.values import NEW_YORK, SourceName, series_code
from warehouse.catalog.datasets import DatasetRepository
from warehouse.clickhouse.bars import BarStore

SOURCE: SourceName = "file"

StageSink = Callable[[str], Awaitable[None]]
"""Told what an import is doing: ``reading``, ``storing``, ``registering``."""


class ImportTooLarge(PipelineClientError):
    """The file is over :data:`MAX_IMPORT_BYTES`."""


class ImportRejected(PipelineClientError):
    """The file has problems; nothing was stored. ``problems`` are the first ones, ``total`` counts all."""

    def __init__(self, fmt: ImportFormat | None, problems: list[ImportProblem], total: int) -> None:
        shown = "; ".join(describe(problem, fmt) for problem in problems[:3])
        more = f" (and {total - 3} more)" if total > 3 else ""
        super().__init__(f"{total} problem(s) in the file, so nothing was stored: {shown}{more}")
        self.format = fmt
        self.problems = problems
        self.total = total


def describe(problem: ImportProblem, fmt: ImportFormat | None) -> str:
    """One problem in words, e.g. ``line 7: Open: 'abc' is not a number``."""
    where = f"{'line' if fmt != 'parquet' else 'row'} {problem.line}: " if problem.line is not None else ""
    column = f"{problem.column}: " if problem.column else ""
    return f"{where}{column}{problem.message}"


class Importer:
    """Reads files of bars, stores them and registers their datasets.

    ``writer`` is the write path for bars (over the same stores).
    """

    def __init__(
        self,
        bars: BarStore,
        catalog: DatasetRepository,
        versions: SeriesVersions,
        *,
        writer: BarWriter,
    ) -> None:
        self.bars = bars
        self.catalog = catalog
        self.versions = versions
        self.writer = writer

    async def run(
        self, path: Path, options: ImportOptions, on_stage: StageSink | None = None
    ) -> ImportResult:
        """Import the bars of ``path`` as the series ``options`` names.

        Raises:
            ImportTooLarge: the file is over the size limit.
            ImportRejected: the file has problems (nothing is stored).
            SourceConflict: the series is stored, or being stored, from another source.
        """
        ref = SeriesKey.of(
            symbol=options.symbol,
            series=series_code(options.multiplier, options.timespan),
            adjusted=options.adjusted,
        )
        async with self.writer.holding(SOURCE, "importing a file of them") as claim:
            refused = await self.writer.claim(ref.series, ref.adjusted, [ref.symbol], claim)
            if refused:
                raise refused[ref.symbol]
            return await self._import(path, options, ref, claim, on_stage)

    async def _import(
        self, path: Path, options: ImportOptions, ref: SeriesKey, claim: Claim, on_stage: StageSink | None
    ) -> ImportResult:
        """:meth:`run` once the series is claimed."""
        existing = [d for d in await self.catalog.for_symbol(ref.symbol, ref.adjusted) if series_of(d) == ref]
        await _tell(on_stage, "reading")
        read = await asyncio.to_thread(_read, path, options)
        if isinstance(read, Rejected):
            problems = [
                ImportProblem(line=line_of(read.format, p.row), column=p.column, message=p.message)
                for p in read.problems
            ]
            raise ImportRejected(read.format, problems, read.total)
        await _tell(on_stage, "storing")
        first, last = _bounds(read)
        try:
            await self.writer.write(ref, claim, read.bars)
        except Exception:
            if not existing:  # a new series: leave no part of the file behind
                with contextlib.suppress(Exception):
                    await self.bars.delete(ref, first, last)
            raise
        await _tell(on_stage, "registering")
        start_day, end_day = first.astimezone(NEW_YORK).date(), last.astimezone(NEW_YORK).date()
        start, end = exchange_day_bounds(start_day, end_day)
        stats = await self.bars.stats(ref, start, end)
        [dataset] = await self.writer.register(
            [DatasetExtent(key=ref, source=SOURCE, start=start_day, end=end_day, stats=stats)]
        )
        summary = ImportSummary(
            format=read.format,
            rows=read.rows,
            bars=read.bars.num_rows,
            duplicates_dropped=read.duplicates_dropped,
            first_bar=first,
            last_bar=last,
            columns=read.columns,
            ignored_columns=read.ignored_columns,
            timestamps=read.timestamps,
            warnings=read.warnings,
        )
        return ImportResult(dataset=dataset, summary=summary)


def _read(path: Path, options: ImportOptions) -> BarFile | Rejected:
    size = path.stat().st_size
    if size > MAX_IMPORT_BYTES:
        raise ImportTooLarge(
            f"the file is {size / 2**20:,.0f} MiB;"
            f" imports take files of at most {MAX_IMPORT_BYTES // 2**20} MiB"
        )
    return read_bar_file(path, options)


def _bounds(read: BarFile) -> tuple[dt.datetime, dt.datetime]:
    ts = read.bars.column("ts")
    first, last = ts[0].as_py(), ts[-1].as_py()
    assert isinstance(first, dt.datetime)
    assert isinstance(last, dt.datetime)
    return first.astimezone(dt.UTC), last.astimezone(dt.UTC)


async def _tell(sink: StageSink | None, stage: str) -> None:
    if sink is not None:
        await sink(stage)
