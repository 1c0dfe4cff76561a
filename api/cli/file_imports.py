"""``k2q import``: a CSV or Parquet file of bars into a dataset, through the running server or in process.

chDB belongs to one process: when a server holds the data directory, the file is uploaded to its
``POST /api/v1/stocks/import`` with the key it left for local commands; otherwise the stores are
opened here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final, NoReturn, get_args

import click
import httpx
import msgspec
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from api.lock import local_cli_key, running_server
from api.settings import Settings
from pipelines.ingest.file_imports import ImportRejected, describe
from schemas.imports import (
    DEFAULT_IMPORT_TZ,
    MAX_IMPORT_BYTES,
    EpochUnit,
    ImportOptions,
    ImportProblem,
    ImportRejection,
    ImportResult,
    ImportTimespan,
)

UPLOAD_CHUNK: Final = 1 << 20
err = Console(stderr=True)
out = Console()

Fail = Callable[[str, int], NoReturn]


def register(main: click.Group, load_settings: Callable[[], Settings], fail: Fail) -> None:
    """Add ``k2q import`` to ``main``."""

    @main.command(name="import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
    @click.option("--symbol", required=True, help="Ticker the bars belong to.")
    @click.option(
        "--timespan", type=click.Choice(get_args(ImportTimespan)), required=True, help="Bar width unit."
    )
    @click.option("--multiplier", type=click.IntRange(1, 10_000), default=1, show_default=True)
    @click.option(
        "--tz",
        default=DEFAULT_IMPORT_TZ,
        show_default=True,
        help="Zone of date-times written without an offset (intraday bars).",
    )
    @click.option("--unadjusted", is_flag=True, help="The prices are raw, not split-adjusted.")
    @click.option(
        "--epoch-unit",
        type=click.Choice(get_args(EpochUnit)),
        default="auto",
        show_default=True,
        help="Unit of numeric timestamps (auto: told from their size).",
    )
    def import_(
        file: Path, symbol: str, timespan: ImportTimespan, multiplier: int, tz: str, unadjusted: bool,
        epoch_unit: EpochUnit,
    ) -> None:  # fmt: skip
        """Import FILE (CSV or Parquet) as the bars of one symbol: a dataset with source 'file'.

        Columns are matched by name, case-insensitively (timestamp/time/date/datetime/ts/t,
        open/o, high/h, low/l, close/c, volume/vol/v, vwap/vw, transactions/trades/n). Every row is
        checked first: a file with problems stores nothing, and they are listed by line.
        """
        settings = load_settings()
        size = file.stat().st_size
        if size > MAX_IMPORT_BYTES:
            fail(
                f"{file} is {size / 2**20:,.0f} MiB;"
                f" imports take files of at most {MAX_IMPORT_BYTES // 2**20} MiB",
                2,
            )
        try:
            options = msgspec.convert(
                {"symbol": symbol, "timespan": timespan, "multiplier": multiplier, "tz": tz,
                 "adjusted": not unadjusted, "epoch_unit": epoch_unit},
                ImportOptions,
            )  # fmt: skip
        except msgspec.ValidationError as exc:
            fail(str(exc), 2)
        data_dir = settings.stores.data_dir.resolve()
        server = running_server(data_dir)
        if server is not None:
            result = _through_server(server.url, local_cli_key(data_dir), file, size, options, fail)
        else:
            result = _in_process(settings, file, options, fail)
        _print_result(file, result)


def _print_result(file: Path, result: ImportResult) -> None:
    summary, dataset = result.summary, result.dataset
    out.print(
        f"imported {summary.bars:,} bars from {file.name} ({summary.format.upper()})"
        f" → dataset [bold]{dataset.table}[/] ({dataset.total_records:,} bars, source: file)",
        highlight=False,
        soft_wrap=True,
    )
    out.print(f"  timestamps: {summary.timestamps}", highlight=False, soft_wrap=True)
    columns = ", ".join(f"{field} ← {column}" for field, column in summary.columns.items())
    out.print(f"  columns: {columns}", highlight=False, soft_wrap=True)
    if summary.ignored_columns:
        out.print(f"  ignored columns: {', '.join(summary.ignored_columns)}", highlight=False, soft_wrap=True)
    if summary.duplicates_dropped:
        out.print(f"  {summary.duplicates_dropped:,} repeated row(s) stored once", highlight=False)
    for warning in summary.warnings:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)


def _reject(file: Path, fmt: Any, problems: list[ImportProblem], total: int) -> NoReturn:
    """List a rejected file's problems on stderr and exit 1."""
    click.echo(f"k2q: {file.name} has {total:,} problem(s), so nothing was stored:", err=True)
    for problem in problems:
        click.echo(f"  {describe(problem, fmt)}", err=True)
    if total > len(problems):
        click.echo(f"  … and {total - len(problems):,} more", err=True)
    raise SystemExit(1)


def _through_server(
    url: str, key: str | None, file: Path, size: int, options: ImportOptions, fail: Fail
) -> ImportResult:
    """Upload ``file`` to the server that holds the data directory, with a progress bar."""
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        console=err,
        transient=True,
    )
    task = progress.add_task(f"uploading {file.name}", total=size)

    def chunks() -> Iterator[bytes]:
        with file.open("rb") as handle:
            while chunk := handle.read(UPLOAD_CHUNK):
                progress.advance(task, len(chunk))
                yield chunk
        progress.update(task, description="the server is checking and storing the bars")

    params = {key_: str(value).lower() if isinstance(value, bool) else str(value)
              for key_, value in msgspec.structs.asdict(options).items()}  # fmt: skip
    headers = {"Content-Length": str(size), "Content-Type": "application/octet-stream"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    timeout = httpx.Timeout(30, read=900)  # a large file takes a while to check and store after it arrives
    try:
        with progress, httpx.Client(base_url=url, timeout=timeout) as client:
            answer = client.post("/api/v1/stocks/import", params=params, content=chunks(), headers=headers)
    except httpx.HTTPError as exc:
        fail(f"the server at {url} did not answer: {exc}", 1)
    body = answer.json() if "json" in answer.headers.get("content-type", "") else {}
    if answer.status_code == 201:
        return msgspec.convert(body, ImportResult)
    if answer.status_code == 422 and "problems" in body:
        rejection = msgspec.convert(body, ImportRejection)
        _reject(file, rejection.format, rejection.problems, rejection.problem_count)
    fail(
        str(body.get("detail") or answer.text or f"HTTP {answer.status_code}"),
        2 if answer.status_code == 422 else 1,
    )


def _in_process(settings: Settings, file: Path, options: ImportOptions, fail: Fail) -> ImportResult:
    """No server holds the data directory: open the stores here and import."""
    from api.runtime import local_runtime
    from pipelines.ingest.file_imports import Importer

    async def go() -> ImportResult:
        async with local_runtime(settings) as runtime:
            services = runtime.services
            with err.status(f"reading {file.name}") as status:

                async def stage(name: str) -> None:
                    status.update(f"{name} {file.name}")

                return await Importer(
                    services.bars, services.catalog, services.versions, writer=services.writer
                ).run(file, options, stage)

    try:
        return asyncio.run(go())
    except ImportRejected as exc:
        _reject(file, exc.format, exc.problems, exc.total)
    except Exception as exc:  # DataDirBusy, SourceConflict … : one line, non-zero exit
        fail(str(exc), 1)
