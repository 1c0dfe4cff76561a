"""``k2q backup`` and ``k2q restore``: the bar store, the catalog and the signing secret in one directory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import httpx
import msgspec
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from api.backup import BACKUP_DEADLINE_S, BackupError, Step, TargetTaken, check_target
from api.lock import local_cli_key, running_server
from api.settings import Settings
from schemas.backups import BackupManifest

err = Console(stderr=True)

Fail = Callable[[str, int], None]


@contextlib.contextmanager
def _steps(action: str) -> Iterator[Step]:
    """A spinner on stderr naming the step under way, and how long the whole has taken."""
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True
    )
    task = progress.add_task(action)

    def step(name: str) -> None:
        progress.update(task, description=f"{action}: {name}")

    with progress:
        yield step


def _summary(manifest: BackupManifest) -> str:
    tables = {digest.table: digest.rows for digest in manifest.clickhouse}
    catalog = {digest.table: digest.rows for digest in manifest.catalog}
    return (
        f"{tables.get('bars', 0):,} bars, {catalog.get('datasets', 0):,} datasets,"
        f" {catalog.get('users', 0):,} users, {catalog.get('api_keys', 0):,} API keys,"
        f" {catalog.get('strategies', 0):,} strategies (catalog at {manifest.migration or 'no migration'})"
    )


def _through_server(url: str, key: str | None, target: Path, fail: Fail) -> BackupManifest:
    """The running server owns chDB: it writes the backup (``POST /api/v1/admin/backup``)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    timeout = httpx.Timeout(30, read=BACKUP_DEADLINE_S + 30)
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=timeout) as client, _steps("backup") as step:
            step(f"the server at {url} is writing it")
            answer = client.post("/api/v1/admin/backup", json={"path": str(target)})
    except httpx.HTTPError as exc:
        fail(f"the server at {url} did not answer: {exc}", 1)
        raise
    if answer.status_code != 201:
        problem = answer.json() if answer.headers.get("content-type", "").endswith("json") else {}
        fail(str(problem.get("detail") or answer.text), 2 if answer.status_code in (400, 409, 422) else 1)
    return msgspec.convert(answer.json(), BackupManifest)


def _in_process(settings: Settings, data_dir: Path, target: Path) -> BackupManifest:
    """No server holds the data dir: open the stores here and back them up."""
    from api.backup import make_backup
    from api.runtime import local_runtime

    async def go() -> BackupManifest:
        async with local_runtime(settings) as runtime:
            with _steps("backup") as step:
                return await make_backup(runtime.stack, data_dir, target, step)

    return asyncio.run(go())


def register(main: click.Group, load_settings: Callable[[], Settings], fail: Fail) -> None:
    """Add ``k2q backup`` and ``k2q restore`` to ``main``."""

    @main.command()
    @click.argument("path", type=click.Path(path_type=Path))
    def backup(path: Path) -> None:
        """Back up the bar store, the catalog and the signing secret into the new directory PATH.

        Works while ``k2q up`` runs (it writes the backup); otherwise the stores are opened here.
        """
        settings = load_settings()
        data_dir = settings.stores.data_dir.resolve()
        target = path.expanduser().absolute()
        try:
            check_target(target, data_dir)
        except (BackupError, OSError) as exc:
            fail(str(exc), 2)
        server = running_server(data_dir)
        try:
            manifest = (
                _through_server(server.url, local_cli_key(data_dir), target, fail)
                if server
                else _in_process(settings, data_dir, target)
            )
        except TargetTaken as exc:
            fail(str(exc), 2)
            raise
        except Exception as exc:  # BackupError, DataDirBusy, a store failing: one line, non-zero exit
            fail(str(exc), 1)
            raise
        click.echo(f"backup written to {target}: {_summary(manifest)}, {manifest.bytes:,} bytes")

    @main.command()
    @click.argument("path", type=click.Path(path_type=Path))
    def restore(path: Path) -> None:
        """Restore the backup at PATH into an empty data directory (or empty DATABASE_URL database).

        Every figure of the backup's manifest (rows and checksums) is checked against what was restored.
        """
        from api.backup import restore_backup

        settings = load_settings()
        source = path.expanduser().absolute()

        async def go() -> BackupManifest:
            with _steps("restore") as step:
                return await restore_backup(settings, source, step)

        try:
            manifest = asyncio.run(go())
        except Exception as exc:  # BackupError, DataDirBusy, a store failing: one line, non-zero exit
            fail(str(exc), 1)
            raise
        click.echo(
            f"restored {source} into {settings.stores.data_dir.resolve()}: {_summary(manifest)};"
            " every row count and checksum matches the backup"
        )
