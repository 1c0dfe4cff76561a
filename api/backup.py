"""Backups of a K2 Quant install: the bar store, the catalog and the signing secret, in one directory.

A backup directory holds ``manifest.json`` (version, migration level, and per-table rows and
checksums), ``clickhouse/`` (``BACKUP DATABASE`` output), ``catalog.dump`` (``pg_dump``, custom
format) and ``secret.key`` when the install has one. :func:`make_backup` runs against open stores
(a running server's, or a ``k2q`` command's own); :func:`restore_backup` fills empty stores and
checks every figure of the manifest against what it restored.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Final

import msgspec
from clickhouse_connect.driver.client import Client

from api.lock import DataDirLock, running_server
from api.settings import Settings
from api.stack import Stack, start_embedded_postgres, stop_embedded_postgres
from schemas.backups import (
    BACKUP_FORMAT,
    CATALOG_FILE,
    CLICKHOUSE_DIR,
    MANIFEST_FILE,
    SECRET_FILE,
    BackupManifest,
    TableDigest,
)
from warehouse.catalog import dump as catalog_dump
from warehouse.catalog.pool import MIGRATIONS_DIR
from warehouse.clickhouse import backup as bar_backup
from warehouse.clickhouse.client import ClickHouse, connect_clickhouse
from warehouse.errors import Unavailable

Step = Callable[[str], None]
"""Told the name of each step as it starts (progress for a terminal, or nothing)."""


BACKUP_DEADLINE_S: Final = 3600.0
"""Longest a backup through ``POST /api/v1/admin/backup`` may take (it answers once the backup is whole)."""


class BackupError(Exception):
    """A backup or restore cannot be made, or what was restored differs from what was backed up."""


class TargetTaken(BackupError):
    """The backup's path exists and holds something."""


def _quiet(_: str) -> None:
    return None


def bundled_pg_bin() -> Path | None:
    """The ``bin`` directory of the PostgreSQL the embedded-postgres package ships, if installed."""
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError:
        return None
    path = Path(POSTGRES_BIN_PATH)
    return path if path.is_dir() else None


def check_target(target: Path, data_dir: Path) -> None:
    """Refuse a relative path, one inside the data directory, and an existing non-empty one.

    Raises:
        BackupError: ``target`` is not a place for a new backup.
    """
    if not target.is_absolute():
        raise BackupError(f"the backup path must be absolute, not {str(target)!r}")
    resolved = target.resolve()
    if resolved == data_dir or data_dir in resolved.parents:
        raise BackupError(f"{target} is inside the data directory; back up somewhere else")
    if resolved.exists() and (not resolved.is_dir() or any(resolved.iterdir())):
        raise TargetTaken(f"{target} exists and is not an empty directory; name a new one")


def _prepare_target(data_dir: Path, target: Path) -> tuple[Path, Path, bool]:
    """The resolved data dir and target, the target made; whether it was made here."""
    data_dir = data_dir.resolve()
    check_target(target, data_dir)
    target = target.resolve()
    created = not target.exists()
    target.mkdir(parents=True, exist_ok=True)
    return data_dir, target, created


async def make_backup(stack: Stack, data_dir: Path, target: Path, step: Step = _quiet) -> BackupManifest:
    """Write a backup of the stores of ``stack`` (and ``data_dir``'s secret) into the directory ``target``.

    Works while the stores serve: the catalog is dumped from one snapshot whose figures are those of
    the manifest; the bar store's figures are those of its tables, or, when a write landed while
    ``BACKUP`` ran, those of the backup itself (restored into a scratch database and counted). A
    failure removes what it wrote.

    Raises:
        BackupError: ``target`` is not a place for a new backup, or the bar store is a server's.
        Unavailable: a store or ``pg_dump`` failed.
    """
    try:
        data_dir, target, created = await asyncio.to_thread(_prepare_target, data_dir, target)
    except OSError as exc:  # a path the process may not write, a file in the way ...
        raise BackupError(f"cannot make the backup directory {target}: {exc.strerror or exc}") from None
    try:
        step("bar store")
        database, bars = await _backup_bars(stack.clickhouse, data_dir, target / CLICKHOUSE_DIR)
        step("catalog")
        async with catalog_dump.snapshot(stack.database_url) as snap:
            await catalog_dump.dump(stack.database_url, target / CATALOG_FILE, snap.name, bundled_pg_bin())
        secret = data_dir / SECRET_FILE
        if secret.is_file():
            _copy_secret(secret, target / SECRET_FILE)
        manifest = BackupManifest(
            format=BACKUP_FORMAT,
            k2q_version=version("k2-quant"),
            created_at=dt.datetime.now(dt.UTC),
            migration=snap.migration,
            clickhouse_database=database,
            clickhouse=bars,
            catalog=snap.digests,
            secret_key=secret.is_file(),
            source="embedded" if stack.clickhouse.embedded else "server",
        )
        manifest.bytes = _size(target)
        _write_manifest(target / MANIFEST_FILE, manifest)
    except OSError as exc:  # the disk filled up, or the directory was taken away
        _clear(target, remove=created)
        raise Unavailable(f"writing the backup to {target} failed: {exc}") from exc
    except BaseException:
        _clear(target, remove=created)
        raise
    return manifest


async def _backup_bars(clickhouse: ClickHouse, data_dir: Path, target: Path) -> tuple[str, list[TableDigest]]:
    if not clickhouse.embedded:
        raise BackupError(
            "k2q backup snapshots the embedded bar store; back up a ClickHouse server with its own"
            " BACKUP ... TO Disk/S3 (the catalog can be dumped with pg_dump)"
        )
    staging = bar_backup.staging_dir(data_dir)
    staging.mkdir(parents=True, exist_ok=True)

    def snapshot(client: Client) -> tuple[str, list[TableDigest]]:
        bar_backup.drop_scratch_databases(client)
        database = bar_backup.current_database(client)
        before = bar_backup.table_digests(client)
        bar_backup.backup_database(client, written)
        after = bar_backup.table_digests(client)
        # A write landed meanwhile (a live feed): count what the backup holds instead.
        return database, after if after == before else bar_backup.backup_digests(client, written, database)

    written = staging / f"backup-{uuid.uuid4().hex}"
    try:
        database, digests = await clickhouse.run(snapshot)
        await asyncio.to_thread(shutil.move, written, target)
        return database, digests
    finally:
        shutil.rmtree(written, ignore_errors=True)


def _copy_secret(source: Path, target: Path) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(source.read_text())


def _write_manifest(path: Path, manifest: BackupManifest) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(msgspec.json.format(msgspec.json.encode(manifest)) + b"\n")
    partial.replace(path)


def _size(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def _clear(directory: Path, *, remove: bool) -> None:
    """Remove what is in ``directory`` (and ``directory`` itself when ``remove``)."""
    if remove:
        shutil.rmtree(directory, ignore_errors=True)
        return
    for entry in directory.iterdir() if directory.is_dir() else []:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def read_manifest(source: Path) -> BackupManifest:
    """The manifest of the backup at ``source``, after checking the backup is whole and readable here.

    Raises:
        BackupError: not a backup, an unknown format, parts missing, or a catalog newer than this version.
    """
    if not source.is_absolute():
        raise BackupError(f"the backup path must be absolute, not {str(source)!r}")
    try:
        manifest = msgspec.json.decode((source / MANIFEST_FILE).read_bytes(), type=BackupManifest)
    except FileNotFoundError:
        raise BackupError(f"{source} is not a K2 Quant backup (no {MANIFEST_FILE})") from None
    except (OSError, msgspec.DecodeError) as exc:
        raise BackupError(f"cannot read {source / MANIFEST_FILE}: {exc}") from None
    if manifest.format != BACKUP_FORMAT:
        raise BackupError(f"backup format {manifest.format} is not one this version reads ({BACKUP_FORMAT})")
    missing = [
        name
        for name, present in (
            (CLICKHOUSE_DIR, (source / CLICKHOUSE_DIR).is_dir()),
            (CATALOG_FILE, (source / CATALOG_FILE).is_file()),
            (SECRET_FILE, (source / SECRET_FILE).is_file() or not manifest.secret_key),
        )
        if not present
    ]
    if missing:
        raise BackupError(f"the backup at {source} is incomplete: {', '.join(missing)} missing")
    known = {path.stem for path in MIGRATIONS_DIR.glob("*.sql")}
    if manifest.migration is not None and manifest.migration not in known:
        raise BackupError(
            f"the backup's catalog is at migration {manifest.migration}, which this K2 Quant"
            f" ({version('k2-quant')}) does not know; restore it with version {manifest.k2q_version} or later"
        )
    return manifest


def _compare(what: str, expected: list[TableDigest], found: list[TableDigest]) -> None:
    have = {digest.table: digest for digest in found}
    wrong = [
        f"{digest.table} ({digest.rows} rows expected, "
        + (f"{have[digest.table].rows} found" if digest.table in have else "table missing")
        + ("" if digest.table not in have or have[digest.table].rows != digest.rows else ", checksum differs")
        + ")"
        for digest in expected
        if have.get(digest.table) != digest
    ]
    if wrong:
        raise BackupError(f"the restored {what} differs from the backup: {'; '.join(wrong)}")


def _entries(directory: Path) -> list[str]:
    return sorted(entry.name for entry in directory.iterdir()) if directory.is_dir() else []


@contextlib.contextmanager
def _held(data_dir: Path) -> Iterator[DataDirLock]:
    lock = DataDirLock(data_dir)
    lock.acquire()
    try:
        yield lock
    finally:
        lock.release()


async def restore_backup(settings: Settings, source: Path, step: Step = _quiet) -> BackupManifest:
    """Restore the backup at ``source`` into the empty stores ``settings`` name, then check every figure.

    Embedded stores need an empty (or missing) data directory that no server holds; servers
    (``CLICKHOUSE_URL``, ``DATABASE_URL``) need empty databases, checked before anything is written.
    A failure leaves an embedded data directory empty again.

    Raises:
        BackupError: the backup or the stores are not fit, or what was restored differs from the manifest.
        DataDirBusy: another process holds the data directory.
        Unavailable: a store or ``pg_restore`` failed.
    """
    manifest = read_manifest(source)
    stores = settings.stores
    data_dir = stores.data_dir.resolve()
    embedded = not stores.clickhouse_url or not stores.database_url
    if (server := running_server(data_dir)) is not None:
        raise BackupError(f"a server (pid {server.pid}) holds {data_dir}; stop it before restoring into it")
    if embedded and _entries(data_dir):
        raise BackupError(f"{data_dir} is not empty; restore into a new or empty data directory")
    secret = data_dir / SECRET_FILE
    write_secret = manifest.secret_key and not settings.auth.secret_key
    if write_secret and secret.exists() and secret.read_bytes() != (source / SECRET_FILE).read_bytes():
        raise BackupError(f"{secret} holds another secret; restore with a data directory without one")
    with _held(data_dir):
        written: list[Path] = []
        try:
            async with _stores(settings, data_dir) as (clickhouse, catalog_url):
                step("checking the stores are empty")
                if not await clickhouse.run(bar_backup.is_empty):
                    raise BackupError("the bar store is not empty; restore into empty stores")
                if not await catalog_dump.is_empty(catalog_url):
                    raise BackupError("the catalog database is not empty; restore into an empty database")
                if write_secret and not secret.exists():
                    _copy_secret(source / SECRET_FILE, secret)
                    written.append(secret)
                step("bar store")
                await _restore_bars(clickhouse, data_dir, source / CLICKHOUSE_DIR, manifest)
                step("catalog")
                await _restore_catalog(catalog_url, source / CATALOG_FILE, manifest)
        except BaseException:
            if embedded:
                _clear(data_dir, remove=False)
            for path in written:
                path.unlink(missing_ok=True)
            raise
    return manifest


@contextlib.asynccontextmanager
async def _stores(settings: Settings, data_dir: Path) -> AsyncIterator[tuple[ClickHouse, str]]:
    """The bar store and the catalog's URL to restore into: the servers configured, else embedded ones."""
    clickhouse = connect_clickhouse(settings.stores.clickhouse_url, data_dir)
    postgres = None
    try:
        if settings.stores.database_url:
            url = settings.stores.database_url
        else:
            postgres = await asyncio.to_thread(start_embedded_postgres, data_dir / "postgres")
            url = postgres.get_uri()
        yield clickhouse, url
    finally:
        await asyncio.to_thread(clickhouse.close)
        if postgres is not None:
            await asyncio.to_thread(stop_embedded_postgres, postgres)


async def _restore_bars(
    clickhouse: ClickHouse, data_dir: Path, source: Path, manifest: BackupManifest
) -> None:
    if clickhouse.embedded:
        await clickhouse.run(
            functools.partial(_restore_in_place, data_dir=data_dir, source=source, manifest=manifest)
        )
    else:
        # The server cannot read the backup's files: restore them into a scratch chDB, then copy.
        scratch = data_dir / f"restore-{uuid.uuid4().hex}"
        local = connect_clickhouse(None, scratch)
        try:
            await local.run(
                functools.partial(_restore_in_place, data_dir=scratch, source=source, manifest=manifest)
            )
            await asyncio.to_thread(bar_backup.copy_tables, local.client, clickhouse.client)
        finally:
            await asyncio.to_thread(local.close)
            shutil.rmtree(scratch, ignore_errors=True)
    _compare("bar store", manifest.clickhouse, await clickhouse.run(bar_backup.table_digests))


def _restore_in_place(client: Client, data_dir: Path, source: Path, manifest: BackupManifest) -> None:
    """RESTORE into the chDB of ``data_dir`` from a link copy of ``source`` in its staging directory."""
    staging = bar_backup.staging_dir(data_dir) / f"restore-{uuid.uuid4().hex}"
    try:
        _link_tree(source, staging)
        bar_backup.restore_database(client, staging, manifest.clickhouse_database)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _link_tree(source: Path, target: Path) -> None:
    """A copy of ``source`` at ``target``: hard links on the same file system (RESTORE only reads)."""

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, target, copy_function=link)


async def _restore_catalog(url: str, dump_file: Path, manifest: BackupManifest) -> None:
    await catalog_dump.restore(url, dump_file, bundled_pg_bin())
    digests, migration = await catalog_dump.digests_of(url)
    if migration != manifest.migration:
        raise BackupError(f"the restored catalog is at migration {migration}, not {manifest.migration}")
    _compare("catalog", manifest.catalog, digests)
