"""The catalog's snapshot: ``pg_dump`` / ``pg_restore`` (custom format) and digests to check one against.

:func:`snapshot` opens a repeatable-read transaction and exports its snapshot, so the digests read
in it and the dump ``pg_dump --snapshot`` writes see the same rows, however busy the catalog is.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from schemas.backups import TableDigest
from warehouse.errors import Unavailable
from warehouse.redact import redact_url

DIGEST_TABLES: Final = ("datasets", "users", "api_keys", "strategies")
"""The catalog tables whose rows a restore is checked against."""
MIGRATIONS_TABLE: Final = "_yoyo_migration"


@dataclass(frozen=True)
class Snapshot:
    """An exported snapshot and what it holds."""

    name: str
    digests: list[TableDigest]
    migration: str | None


def pg_tool(name: str, bundled: Path | None) -> Path:
    """``pg_dump`` or ``pg_restore``: from ``bundled`` (the embedded server's) when it has it, else PATH.

    Raises:
        Unavailable: neither has it.
    """
    if bundled is not None and (bundled / name).is_file():
        return bundled / name
    found = shutil.which(name)
    if found is None:
        raise Unavailable(f"{name} is not installed (install the PostgreSQL client tools)")
    return Path(found)


def _credentials(url: str) -> tuple[str, dict[str, str]]:
    """A conninfo without the password, and the environment that carries it (never a command line)."""
    params = conninfo_to_dict(url)
    password = params.pop("password", None)
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None}), env


async def _run(tool: Path, args: list[str], url: str) -> None:
    conninfo, env = _credentials(url)
    process = await asyncio.create_subprocess_exec(
        str(tool), *args, f"--dbname={conninfo}",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    _, stderr = await process.communicate()
    if process.returncode != 0:
        message = stderr.decode(errors="replace").strip().splitlines()
        detail = message[-1] if message else f"exit status {process.returncode}"
        raise Unavailable(f"{tool.name} failed on {redact_url(url)}: {detail}")


async def _digest(conn: psycopg.AsyncConnection[tuple[object, ...]], table: str) -> TableDigest:
    """Rows of ``table`` and the md5 of its rows' text, sorted (the same rows give the same digest)."""
    query = sql.SQL(
        "SELECT count(*), coalesce(md5(string_agg(h, '' ORDER BY h)), '')"
        " FROM (SELECT md5(t::text) AS h FROM {} AS t) AS rows"
    ).format(sql.Identifier(table))
    cursor = await conn.execute(query)
    row = await cursor.fetchone()
    assert row is not None
    return TableDigest(table=table, rows=int(str(row[0])), checksum=str(row[1]))


async def read_digests(
    conn: psycopg.AsyncConnection[tuple[object, ...]],
) -> tuple[list[TableDigest], str | None]:
    """Digests of :data:`DIGEST_TABLES` and the last migration applied, read on ``conn`` (UTC text)."""
    await conn.execute("SET TIME ZONE 'UTC'")
    await conn.execute("SET DateStyle = 'ISO, YMD'")
    await conn.execute("SET extra_float_digits = 3")
    digests = [await _digest(conn, table) for table in DIGEST_TABLES]
    cursor = await conn.execute(
        sql.SQL("SELECT max(migration_id) FROM {}").format(sql.Identifier(MIGRATIONS_TABLE))
    )
    row = await cursor.fetchone()
    return digests, (str(row[0]) if row and row[0] is not None else None)


@contextlib.asynccontextmanager
async def snapshot(url: str) -> AsyncIterator[Snapshot]:
    """A repeatable-read snapshot of the catalog, exported for ``pg_dump --snapshot`` while open."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await conn.set_isolation_level(psycopg.IsolationLevel.REPEATABLE_READ)
        await conn.set_read_only(True)
        async with conn.transaction():
            cursor = await conn.execute("SELECT pg_export_snapshot()")
            row = await cursor.fetchone()
            assert row is not None
            digests, migration = await read_digests(conn)
            yield Snapshot(name=str(row[0]), digests=digests, migration=migration)


async def dump(url: str, target: Path, snapshot_name: str, bundled: Path | None) -> None:
    """``pg_dump`` the catalog at ``url`` as of ``snapshot_name`` into ``target`` (custom format)."""
    await _run(
        pg_tool("pg_dump", bundled),
        [
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--snapshot={snapshot_name}",
            f"--file={target}",
        ],
        url,
    )


async def restore(url: str, source: Path, bundled: Path | None) -> None:
    """``pg_restore`` the dump ``source`` into the empty catalog at ``url``, all or nothing."""
    await _run(
        pg_tool("pg_restore", bundled),
        ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", str(source)],
        url,
    )


async def is_empty(url: str) -> bool:
    """Whether the database at ``url`` holds no table of its own (no schema but the system's has one)."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cursor = await conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
        row = await cursor.fetchone()
        return row is not None and int(str(row[0])) == 0


async def digests_of(url: str) -> tuple[list[TableDigest], str | None]:
    """:func:`read_digests` on a connection of its own."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        return await read_digests(conn)
