"""``k2q backfill --flat-files``: Polygon's flat files into the bar store, with a progress bar."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click
import httpx
import msgspec
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from api.lock import local_cli_key, running_server
from api.settings import Settings
from pipelines.errors import PipelineClientError
from schemas.flat_files import FlatFileProgress, FlatFileRequest
from schemas.jobs import JobAccepted, JobStatus
from schemas.values import normalize_symbol

err = Console(stderr=True)
out = Console()

Fail = Callable[[str, int], NoReturn]


class FlatFileBar:
    """One Rich progress bar: files done of total, bars stored, the file being read."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("[bold]flat files"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files · {task.fields[bars]:,} bars · {task.fields[current]}"),
            TimeElapsedColumn(),
            console=err,
            transient=False,
        )
        self.task: TaskID | None = None

    def update(self, done: int, total: int, bars: int, current: str | None) -> None:
        """Show ``done`` of ``total`` files and ``bars`` stored."""
        name = Path(current).name if current else ""
        if self.task is None:
            self.task = self.progress.add_task("", total=total or None, bars=bars, current=name)
        self.progress.update(self.task, completed=done, total=total or None, bars=bars, current=name)


def build_request(
    source: str, timespan: str, symbols: str | None, from_: dt.datetime | None, to: dt.datetime | None
) -> FlatFileRequest:
    """The request the options describe; local paths made absolute (a server may resolve them).

    Raises:
        ValueError: a symbol or the range is not valid.
    """
    names = None
    if symbols is not None:
        names = [normalize_symbol(name) for name in symbols.split(",") if name.strip()]
        if not names:
            raise ValueError("--symbols names no ticker")
    if not source.startswith("s3://") and "://" not in source:
        source = str(Path(source).expanduser().absolute())
    payload: dict[str, Any] = {"source": source, "timespan": timespan, "symbols": names}
    if from_ is not None:
        payload["from"] = from_.date().isoformat()
    if to is not None:
        payload["to"] = to.date().isoformat()
    try:
        return msgspec.convert(payload, FlatFileRequest)
    except msgspec.ValidationError as exc:
        raise ValueError(str(exc)) from None


def register(main: click.Group, load_settings: Callable[[], Settings], fail: Fail) -> None:
    """Add ``k2q backfill`` to ``main``."""

    @main.command()
    @click.option(
        "--flat-files",
        "source",
        required=True,
        metavar="PATH_OR_S3_URL",
        help="Directory holding us_stocks_sip/ (or that directory), or s3://bucket/prefix.",
    )
    @click.option("--timespan", type=click.Choice(["minute", "day"]), default="day", show_default=True)
    @click.option("--symbols", help="Comma-separated tickers (default: every ticker in the files).")
    @click.option("--from", "from_", type=click.DateTime(["%Y-%m-%d"]), help="First day, YYYY-MM-DD.")
    @click.option("--to", type=click.DateTime(["%Y-%m-%d"]), help="Last day (inclusive).")
    def backfill(
        source: str, timespan: str, symbols: str | None, from_: dt.datetime | None, to: dt.datetime | None
    ) -> None:
        """Load Polygon's flat files (day CSV.gz of every ticker) into the bar store.

        Reads us_stocks_sip/{minute,day}_aggs_v1/YYYY/MM/YYYY-MM-DD.csv.gz from a local directory or
        an S3-compatible bucket (K2Q_S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY). Flat
        files hold raw prices: the bars are stored as unadjusted series, one dataset per symbol.
        A file that fails stores nothing; the command then exits non-zero naming it.
        """
        settings = load_settings()
        try:
            request = build_request(source, timespan, symbols, from_, to)
        except ValueError as exc:
            fail(str(exc), 2)
        data_dir = settings.stores.data_dir.resolve()
        server = running_server(data_dir)
        if server is not None:
            status = _through_server(server.url, request, local_cli_key(data_dir), fail)
            _report_job(status, fail)
        else:
            _in_process(settings, request, fail)


def _in_process(settings: Settings, request: FlatFileRequest, fail: Fail) -> None:
    """No server holds the data dir: open the stores here and load the files in this process."""
    from api.runtime import local_runtime, s3_access
    from pipelines.ingest.flat_files import FlatFileLoader, failures_text
    from warehouse.clickhouse.flat_files import FlatFileStore

    async def go() -> None:
        async with local_runtime(settings) as runtime:
            services = runtime.services
            loader = FlatFileLoader(
                FlatFileStore(runtime.stack.clickhouse, s3_access(settings)),
                services.bars,
                services.catalog,
                services.versions,
                writer=services.writer,
            )
            plan = await loader.plan(request)
            bar = FlatFileBar()

            async def show(progress: FlatFileProgress) -> None:
                bar.update(progress.files_done, progress.files_total, progress.bars, progress.current)

            with bar.progress:
                outcome = await loader.run(request, show, plan)
        for line in failures_text(outcome.progress.failures):
            err.print(f"[red]failed[/] {line}", highlight=False, soft_wrap=True)
        out.print(outcome.message, highlight=False, soft_wrap=True)
        if outcome.failed:
            fail(f"{len(outcome.progress.failures)} file(s) failed and stored nothing", 1)

    try:
        asyncio.run(go())
    except PipelineClientError as exc:
        fail(str(exc), 2)
    except Exception as exc:  # DataDirBusy and store failures: one line, non-zero exit
        fail(str(exc), 1)


def _through_server(url: str, request: FlatFileRequest, key: str | None, fail: Fail) -> JobStatus:
    """The running server owns chDB, so the load runs there as a job; its progress is polled."""
    bar = FlatFileBar()
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        with httpx.Client(base_url=url, timeout=30, headers=headers) as client, bar.progress:
            answer = client.post("/api/v1/stocks/flat-files", content=msgspec.json.encode(request))
            if answer.status_code != 202:
                problem = answer.json() if answer.headers.get("content-type", "").endswith("json") else {}
                fail(str(problem.get("detail") or answer.text), 2 if answer.status_code in (400, 422) else 1)
            accepted = msgspec.convert(answer.json(), JobAccepted)
            while True:
                status = msgspec.convert(client.get(accepted.status_url).json(), JobStatus)
                for item in status.symbols[:1]:
                    bar.update(item.windows_done, item.windows_total, item.bars, item.table)
                if status.state not in ("queued", "running"):
                    return status
                time.sleep(0.3)
    except httpx.HTTPError as exc:
        fail(f"the server at {url} did not answer: {exc}", 1)


def _report_job(status: JobStatus, fail: Fail) -> None:
    if status.error:
        for line in status.error.split("\n"):
            err.print(f"[red]failed[/] {line}", highlight=False, soft_wrap=True)
    if status.message:
        out.print(status.message, highlight=False, soft_wrap=True)
    if status.state != "complete":
        fail(f"flat-file load {status.state}", 1)
