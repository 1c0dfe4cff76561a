"""The bar store's snapshot: ``BACKUP DATABASE`` / ``RESTORE DATABASE`` and digests to check one against.

ClickHouse writes a ``File(...)`` backup only under its ``backups.allowed_path``. The embedded
engine (chDB) is opened with that path set to :func:`staging_dir` of its data directory, so a backup
is written there and then moved to where the user asked, and a restore reads a copy placed there.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Final

import pyarrow as pa
from clickhouse_connect.driver.client import Client

from schemas.backups import TableDigest

COPY_BLOCK_ROWS: Final = 200_000
"""Rows read and inserted at a time by :func:`copy_tables`."""
SCRATCH_PREFIX: Final = "k2q_backup_check_"
"""Databases a backup's contents are restored into to be counted (dropped at once)."""
STAGING_DIR: Final = "backup-staging"
"""Under the data directory: where the embedded engine may write and read backups."""

_REPLACING_ENGINES: Final = re.compile(r"^(Replicated)?(Replacing|Collapsing|VersionedCollapsing)MergeTree$")
_TABLE_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def staging_dir(data_dir: Path) -> Path:
    """The embedded engine's ``backups.allowed_path`` for ``data_dir``."""
    return (data_dir / STAGING_DIR).resolve()


def current_database(client: Client) -> str:
    """The database the application's tables live in."""
    return str(client.command("SELECT currentDatabase()"))


def tables(client: Client, database: str | None = None) -> list[tuple[str, str]]:
    """``(name, engine)`` of every table with data in ``database`` (the current one by default), by name."""
    rows = client.query(
        "SELECT name, engine FROM system.tables WHERE database = {database:String}"
        " AND engine LIKE '%MergeTree' ORDER BY name",
        parameters={"database": database or current_database(client)},
    ).result_rows
    return [(str(name), str(engine)) for name, engine in rows]


def table_digests(client: Client, database: str | None = None) -> list[TableDigest]:
    """Rows and ``sum(cityHash64(*))`` of every table; replacing tables are read ``FINAL`` (once merged)."""
    database = database or current_database(client)
    _check_name(database)
    digests = []
    for name, engine in tables(client, database):
        _check_name(name)
        final = " FINAL" if _REPLACING_ENGINES.match(engine) else ""
        rows, checksum = client.query(
            f"SELECT count(), toString(sum(cityHash64(*))) FROM `{database}`.`{name}`{final}"
        ).result_rows[0]
        digests.append(TableDigest(table=name, rows=int(rows), checksum=str(checksum)))
    return digests


def backup_digests(client: Client, source: Path, backed_up: str) -> list[TableDigest]:
    """:func:`table_digests` of the backup at ``source``: restored into a scratch database, then dropped.

    For a backup taken while writes landed, whose digests the live tables no longer give.
    """
    _check_name(backed_up)
    scratch = f"{SCRATCH_PREFIX}{uuid.uuid4().hex[:12]}"
    try:
        client.command(
            f"RESTORE DATABASE `{backed_up}` AS `{scratch}` FROM File({{source:String}})"
            " SETTINGS allow_different_database_def = 1",
            parameters={"source": str(source)},
        )
        return table_digests(client, scratch)
    finally:
        client.command(f"DROP DATABASE IF EXISTS `{scratch}` SYNC")


def drop_scratch_databases(client: Client) -> None:
    """Drop what an interrupted :func:`backup_digests` left."""
    for (name,) in client.query(
        "SELECT name FROM system.databases WHERE startsWith(name, {prefix:String})",
        parameters={"prefix": SCRATCH_PREFIX},
    ).result_rows:
        _check_name(str(name))
        client.command(f"DROP DATABASE IF EXISTS `{name}` SYNC")


def _check_name(name: str) -> None:
    if not _TABLE_NAME.match(name):  # names come from system tables or the manifest; ours are all plain
        raise ValueError(f"unexpected name {name!r}")


def is_empty(client: Client) -> bool:
    """Whether no table of the current database holds a row."""
    return all(digest.rows == 0 for digest in table_digests(client))


def backup_database(client: Client, target: Path) -> None:
    """``BACKUP DATABASE`` (every table, consistent per table) into the directory ``target``.

    ``target`` must not exist and lie under the engine's ``backups.allowed_path``.
    """
    database = current_database(client)
    client.command(
        f"BACKUP DATABASE `{database}` TO File({{target:String}})", parameters={"target": str(target)}
    )


def restore_database(client: Client, source: Path, backed_up: str) -> None:
    """``RESTORE DATABASE`` ``backed_up`` from the ``BACKUP`` output at ``source`` into the current one.

    The current database must hold no row (see :func:`is_empty`); tables that exist already, empty,
    as a store that started once creates them, are filled rather than created.
    """
    _check_name(backed_up)
    database = current_database(client)
    client.command(
        f"RESTORE DATABASE `{backed_up}` AS `{database}` FROM File({{source:String}})"
        " SETTINGS create_table = 'if-not-exists', allow_different_database_def = 1",
        parameters={"source": str(source)},
    )


def copy_tables(source: Client, target: Client) -> None:
    """Every table of ``source``'s current database into ``target``'s: created where missing, rows appended.

    How a backup reaches a ClickHouse server that cannot read the backup's files: restored into a
    scratch chDB, then copied over the client connection. A table ``target`` has already (the
    application's, or a cluster's Distributed one) is filled through the columns both have.
    """
    database = current_database(source)
    present = {name for name, _ in tables(target)} | {
        str(name) for (name,) in target.query("SHOW TABLES").result_rows
    }
    for name, _ in tables(source):
        if name not in present:
            create = str(source.query(f"SHOW CREATE TABLE `{name}`").result_rows[0][0])
            target.command(_unqualified(create, database, name))
        wanted = _column_names(source, name)
        have = set(_column_names(target, name))
        columns = ", ".join(f"`{column}`" for column in wanted if column in have)
        settings = {"max_block_size": COPY_BLOCK_ROWS}
        with source.query_arrow_stream(f"SELECT {columns} FROM `{name}`", settings=settings) as stream:
            for block in stream:
                batch = block if isinstance(block, pa.Table) else pa.Table.from_batches([block])
                if batch.num_rows:
                    target.insert_arrow(name, batch)


def _column_names(client: Client, table: str) -> list[str]:
    rows = client.query(
        "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = {table:String}"
        " AND default_kind NOT IN ('MATERIALIZED', 'ALIAS') ORDER BY position",
        parameters={"table": table},
    ).result_rows
    return [str(name) for (name,) in rows]


def _unqualified(create: str, database: str, name: str) -> str:
    """``CREATE TABLE db.name ...`` as ``CREATE TABLE IF NOT EXISTS name ...`` (the target's database)."""
    for prefix in (f"CREATE TABLE {database}.{name}", f"CREATE TABLE `{database}`.`{name}`"):
        if create.startswith(prefix):
            return f"CREATE TABLE IF NOT EXISTS `{name}`" + create[len(prefix) :]
    raise ValueError(f"unexpected definition of table {name}: {create[:80]!r}")
