"""Backfill from Polygon's flat files: find the day files in range, let ClickHouse load each, register.

Flat files are laid out as ``us_stocks_sip/{minute_aggs_v1,day_aggs_v1}/YYYY/MM/YYYY-MM-DD.csv.gz``
on a local disk or in an S3-compatible bucket (Polygon's own is ``s3://flatfiles`` at
``https://files.polygon.io``). They hold raw prices, so bars are stored as *unadjusted* series
from source ``polygon`` (the same series an ``adjusted=false`` REST fetch fills).

A load goes day by day: one file is one atomic insert (see :mod:`warehouse.clickhouse.flat_files`),
so a corrupt file stores nothing and the others still load. ClickHouse stores the bars itself, so
the load claims its series up front (see :mod:`pipelines.series.writes`): the requested symbols,
or, for every symbol, a lease on the whole market. Before each file it claims them again and
leaves out the symbols whose series is stored, or being stored, from another source. Running a
load twice stores each bar once: rows replace their earlier copies and the touched partitions
are merged at the end.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Final

import msgspec

from pipelines.errors import PipelineClientError
from pipelines.quality.assessor import QualityAssessor
from pipelines.series.versions import SeriesVersions
from pipelines.series.writes import BarWriter, Claim, DatasetExtent
from schemas.bars import SeriesKey
from schemas.datasets import Dataset, exchange_day_bounds
from schemas.flat_files import FlatFileFailure, FlatFileProgress, FlatFileRequest, FlatFileTimespan
from schemas.values import series_code
from warehouse.catalog.datasets import DatasetRepository
from warehouse.clickhouse.bars import BarStore, SeriesStats
from warehouse.clickhouse.flat_files import FlatFile, FlatFileError, FlatFileStore, check_s3_location, day_of
from warehouse.errors import InvalidQuery

ROOT_DIR: Final = "us_stocks_sip"
DATASET_DIRS: Final[dict[FlatFileTimespan, str]] = {"minute": "minute_aggs_v1", "day": "day_aggs_v1"}
SOURCE: Final = "polygon"
MAX_CONSECUTIVE_FAILURES: Final = 5
"""After this many files in a row fail (and none before them loaded), the problem is the
location or the credentials, not one file: the load stops instead of failing every file."""
ASSESS_AT_MOST: Final = 200
"""Datasets whose quality a load assesses at once; beyond that (a whole-market load) each is
assessed when its report is first asked for."""
PROGRESS_LABEL: Final = "flat files"
"""The one progress entry of a flat-file job: files done of total, bars stored."""

ProgressSink = Callable[[FlatFileProgress], Awaitable[None]]
"""Receives the load's progress before each file and once at the end."""


class FlatFilesNotFound(PipelineClientError):
    """The location does not exist, is not laid out as Polygon's flat files, or has no files in range."""


class FlatFileSourceConflict(PipelineClientError):
    """Every requested symbol (or the whole market) is stored as this series from another source."""


class FlatFilePlan(msgspec.Struct, frozen=True, kw_only=True):
    """What a load will read: the dataset directory, its files in range, the datasets' range."""

    location: str
    """Where the files were looked for, as messages name it."""
    files: list[FlatFile]
    start: dt.date
    end: dt.date


class FlatFileOutcome(msgspec.Struct, kw_only=True):
    """What a load did."""

    plan: FlatFilePlan
    progress: FlatFileProgress
    datasets: list[Dataset]
    skipped_symbols: list[str]
    """Symbols left out because their series is stored from another source."""
    stopped: bool = False
    """Whether the load stopped before its last file (cancelled, failing, or its series taken)."""
    cancelled: bool = False
    interrupted: str | None = None
    """Why the load stopped when its series went to another source half-way (its claims lapsed)."""

    @property
    def failed(self) -> bool:
        """Whether any file failed."""
        return bool(self.progress.failures)

    @property
    def message(self) -> str:
        """One line for people."""
        progress = self.progress
        loaded = progress.files_done - len(progress.failures)
        text = (
            f"stored {progress.bars:,} bars from {loaded} of {len(self.plan.files)} files"
            f" ({self.plan.start} to {self.plan.end}) into {len(self.datasets)} unadjusted datasets"
        )
        if self.skipped_symbols:
            shown = ", ".join(self.skipped_symbols[:10])
            more = f" and {len(self.skipped_symbols) - 10} more" if len(self.skipped_symbols) > 10 else ""
            text += f"; skipped {shown}{more}: stored from another source"
        if self.cancelled:
            text += f"; cancelled after {self.progress.files_done} of {self.progress.files_total} files"
        elif self.interrupted is not None:
            text += f"; stopped: {self.interrupted}"
        elif self.stopped:
            text += f"; stopped after {MAX_CONSECUTIVE_FAILURES} files in a row failed"
        return text


def _local_dataset_dir(source: str, timespan: FlatFileTimespan) -> Path:
    """The ``{minute,day}_aggs_v1`` directory that ``source`` names or contains.

    ``source`` may be the directory holding ``us_stocks_sip/``, ``us_stocks_sip`` itself, or the
    dataset directory.

    Raises:
        FlatFilesNotFound: there is no such directory or it is not laid out as flat files.
    """
    wanted, other = DATASET_DIRS[timespan], DATASET_DIRS["day" if timespan == "minute" else "minute"]
    path = Path(source).expanduser()
    try:
        found, directory = path.exists(), path.is_dir()
    except OSError as exc:  # a name too long for the file system, a loop of links, ...
        raise FlatFilesNotFound(f"cannot read {source[:200]}: {exc.strerror}") from exc
    if not found:
        raise FlatFilesNotFound(f"no such directory: {source}")
    if not directory:
        raise FlatFilesNotFound(f"{source} is a file; name the directory that holds {ROOT_DIR}/")
    path = path.resolve()
    if path.name == other:
        raise FlatFilesNotFound(f"{path} holds {other} files; use --timespan {_timespan_of(other)}")
    if path.name == wanted:
        return path
    root = path if path.name == ROOT_DIR else path / ROOT_DIR
    if not root.is_dir():
        raise FlatFilesNotFound(
            f"{path} has no {ROOT_DIR}/ directory"
            f" (expected {path}/{ROOT_DIR}/{wanted}/YYYY/MM/YYYY-MM-DD.csv.gz)"
        )
    if not (root / wanted).is_dir():
        hint = f"; it has {other}: use --timespan {_timespan_of(other)}" if (root / other).is_dir() else ""
        raise FlatFilesNotFound(f"{root} has no {wanted}/ directory{hint}")
    return root / wanted


def _timespan_of(directory: str) -> FlatFileTimespan:
    return "minute" if directory == DATASET_DIRS["minute"] else "day"


def _s3_dataset_prefix(source: str, timespan: FlatFileTimespan) -> tuple[str, str]:
    """``(bucket, prefix of the dataset directory)`` for ``s3://bucket[/prefix]``.

    Raises:
        FlatFilesNotFound: the URL names no bucket, or a prefix that is not a plain name.
    """
    rest = source.removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    prefix = prefix.strip("/")
    try:
        check_s3_location(bucket, prefix)
    except InvalidQuery as exc:
        raise FlatFilesNotFound(f"{source}: {exc}") from None
    wanted, other = DATASET_DIRS[timespan], DATASET_DIRS["day" if timespan == "minute" else "minute"]
    last = prefix.rsplit("/", 1)[-1]
    if last == other:
        raise FlatFilesNotFound(f"{source} holds {other} files; use --timespan {_timespan_of(other)}")
    if last == wanted:
        return bucket, prefix
    if last == ROOT_DIR:
        return bucket, f"{prefix}/{wanted}"
    return bucket, "/".join(part for part in (prefix, ROOT_DIR, wanted) if part)


def _local_files(directory: Path, start: dt.date | None, end: dt.date | None) -> list[FlatFile]:
    """Day files ``YYYY/MM/YYYY-MM-DD.csv.gz`` under ``directory`` between ``start`` and ``end``."""
    files: list[FlatFile] = []
    for year_dir in sorted(directory.iterdir()):
        if not (year_dir.is_dir() and year_dir.name.isdigit() and len(year_dir.name) == 4):
            continue
        year = int(year_dir.name)
        if (start and year < start.year) or (end and year > end.year):
            continue
        for path in sorted(year_dir.glob("[0-9][0-9]/*.csv.gz")):
            day = day_of(path.name)
            if day is None or f"{day:%Y}" != year_dir.name or f"{day:%m}" != path.parent.name:
                continue
            if _in_range(day, start, end) and path.is_file():
                files.append(FlatFile(day=day, kind="file", path=str(path)))
    return files


def _in_range(day: dt.date, start: dt.date | None, end: dt.date | None) -> bool:
    return (start is None or day >= start) and (end is None or day <= end)


def _describe_range(start: dt.date | None, end: dt.date | None) -> str:
    if start and end:
        return f" between {start} and {end}"
    if start:
        return f" from {start} on"
    if end:
        return f" up to {end}"
    return ""


class FlatFileLoader:
    """Loads Polygon flat files into the bar store and registers a dataset per symbol.

    ``writer`` is the write path for bars (over the same stores).
    """

    def __init__(
        self,
        files: FlatFileStore,
        bars: BarStore,
        catalog: DatasetRepository,
        versions: SeriesVersions,
        quality: QualityAssessor | None = None,
        *,
        writer: BarWriter,
    ) -> None:
        self.files = files
        self.bars = bars
        self.catalog = catalog
        self.versions = versions
        self.quality = quality
        self.writer = writer

    async def plan(self, request: FlatFileRequest) -> FlatFilePlan:
        """Find the files ``request`` would load.

        Raises:
            FlatFilesNotFound: the location is wrong, cannot be listed, or holds no files in range.
        """
        start, end = request.from_, request.to
        if request.source.startswith("s3://"):
            if self.files.s3 is None:
                raise FlatFilesNotFound("S3 is not configured")
            bucket, prefix = _s3_dataset_prefix(request.source, request.timespan)
            location = f"s3://{bucket}/{prefix}"
            years = list(range(start.year, end.year + 1)) if start and end else None
            try:
                files = await self.files.list_s3(bucket, prefix, years)
            except FlatFileError as exc:
                raise FlatFilesNotFound(str(exc)) from None
            files = [file for file in files if _in_range(file.day, start, end)]
        elif "://" in request.source:
            raise FlatFilesNotFound(
                f"flat files are read from a local directory or s3://, not {request.source}"
            )
        else:
            if not self.files.reads_local_files:
                raise FlatFilesNotFound(
                    "with a ClickHouse server (CLICKHOUSE_URL) flat files are read from S3"
                    " (s3://bucket/prefix): the server cannot read this machine's files"
                )
            directory = await asyncio.to_thread(_local_dataset_dir, request.source, request.timespan)
            location = str(directory)
            files = await asyncio.to_thread(_local_files, directory, start, end)
        if not files:
            raise FlatFilesNotFound(
                f"no {DATASET_DIRS[request.timespan]} day files{_describe_range(start, end)} under {location}"
                " (expected YYYY/MM/YYYY-MM-DD.csv.gz)"
            )
        return FlatFilePlan(
            location=location, files=files, start=start or files[0].day, end=end or files[-1].day
        )

    async def run(
        self,
        request: FlatFileRequest,
        on_progress: ProgressSink | None = None,
        plan: FlatFilePlan | None = None,
        should_stop: Callable[[], Awaitable[bool]] | None = None,
    ) -> FlatFileOutcome:
        """Load every file of ``request`` (a failing file stores nothing and the others go on).

        ``should_stop`` is asked before each file (e.g. whether the job was cancelled); once it says
        yes no more files are read, and what was loaded is registered as usual.

        Raises:
            FlatFilesNotFound: see :meth:`plan`.
            FlatFileSourceConflict: every requested symbol is stored from another source.
        """
        plan = plan or await self.plan(request)
        series = series_code(1, request.timespan)
        async with self.writer.holding(SOURCE, "loading flat files") as claim:
            held = await self._claim(series, claim, request.symbols)
            if isinstance(held, str):
                raise FlatFileSourceConflict(held)
            return await self._load(plan, series, claim, request.symbols, on_progress, should_stop)

    async def _claim(
        self, series: str, claim: Claim, symbols: Sequence[str] | None
    ) -> tuple[list[str] | None, list[str]] | str:
        """Claim the series a file is loaded into: ``(symbols to load, symbols to leave out)``.

        With ``symbols`` (None: every ticker, under the market lease) their series are claimed;
        those refused are left out. Every symbol whose series is bound to another source is left
        out of a whole-market load. Returns why nothing can be loaded instead: every symbol was
        refused, or another source holds the market lease.
        """
        if symbols is None:
            conflict = await self.writer.lease_market(series, False, claim)
            if conflict is not None:
                return str(conflict)
            return None, sorted(await self.writer.others(series, False, SOURCE))
        refused = await self.writer.claim(series, False, symbols, claim)
        loading = [symbol for symbol in symbols if symbol not in refused]
        if not loading:
            return (
                f"{', '.join(sorted(refused))} {series} unadjusted bars are stored from another source;"
                " delete those datasets before loading flat files"
            )
        return loading, sorted(refused)

    async def _load(
        self,
        plan: FlatFilePlan,
        series: str,
        claim: Claim,
        symbols: Sequence[str] | None,
        on_progress: ProgressSink | None,
        should_stop: Callable[[], Awaitable[bool]] | None,
    ) -> FlatFileOutcome:
        """:meth:`run` under the load's claim."""
        progress = FlatFileProgress(files_total=len(plan.files))
        touched: dict[str, int] = {}
        skipped: set[str] = set()
        version: dt.datetime | None = None
        streak, stopped, cancelled = 0, False, False
        interrupted: str | None = None
        for file in plan.files:
            if should_stop is not None and await should_stop():
                stopped = cancelled = True
                break
            progress.current = file.display
            if on_progress is not None:
                await on_progress(progress)
            # Claim again before each file: no symbol joins the others while it loads. A symbol
            # left out once stays out, so each one is loaded over the whole range or not at all.
            wanted = None if symbols is None else [symbol for symbol in symbols if symbol not in skipped]
            held = await self._claim(series, claim, wanted)
            if isinstance(held, str):
                progress.failures.append(FlatFileFailure(file=file.display, error=held))
                progress.files_done += 1
                stopped, interrupted = True, held
                break
            loading, excluded = held
            skipped.update(excluded)
            now = await self.files.now()
            version = now if version is None or now > version else version + dt.timedelta(milliseconds=1)
            try:
                loaded = await self.files.load(
                    file, series, version, symbols=loading, exclude=sorted(skipped) if loading is None else ()
                )
            except FlatFileError as exc:
                progress.failures.append(FlatFileFailure(file=file.display, error=str(exc)))
                streak += 1
            else:
                progress.bars += loaded.total
                for symbol, count in loaded.bars.items():
                    touched[symbol] = touched.get(symbol, 0) + count
                streak = 0
            progress.files_done += 1
            if streak >= MAX_CONSECUTIVE_FAILURES and streak == progress.files_done:
                stopped = True
                break
        progress.current = None
        datasets = await self._register(plan, series, sorted(touched))
        if self.quality is not None and len(datasets) <= ASSESS_AT_MOST:
            for dataset in datasets:
                await self.quality.assess(dataset, received=touched.get(dataset.symbol, 0))
        if on_progress is not None:
            await on_progress(progress)
        return FlatFileOutcome(
            plan=plan,
            progress=progress,
            datasets=datasets,
            skipped_symbols=sorted(skipped),
            stopped=stopped,
            cancelled=cancelled,
            interrupted=interrupted,
        )

    async def _register(self, plan: FlatFilePlan, series: str, symbols: list[str]) -> list[Dataset]:
        """Register (or refresh) a dataset per symbol and bump them.

        ClickHouse loaded the bars itself, so their series are bumped here, over the whole range.
        """
        if not symbols:
            return []
        start, end = exchange_day_bounds(plan.start, plan.end)
        stats = await self.files.series_stats(series, symbols, start, end)
        extents = []
        for symbol in symbols:
            count, first, last = stats.get(symbol, (0, None, None))
            extents.append(
                DatasetExtent(
                    key=SeriesKey.of(symbol=symbol, series=series, adjusted=False),
                    source=SOURCE,
                    start=plan.start,
                    end=plan.end,
                    stats=SeriesStats(count=count, first=first, last=last),
                )
            )
        return await self.writer.register(extents, changed=(start, end))


def failures_text(failures: Iterable[FlatFileFailure], limit: int = 10) -> list[str]:
    """Lines naming the failed files (at most ``limit``, then how many more)."""
    items = list(failures)
    lines = [
        item.error if item.error.startswith(item.file) else f"{item.file}: {item.error}" for item in items
    ]
    if len(lines) > limit:
        return [*lines[:limit], f"… and {len(lines) - limit} more failed files"]
    return lines
