"""Backups: what ``k2q backup`` asks a running server for, and the manifest a backup carries."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Final, Literal

import msgspec

BACKUP_FORMAT: Final = 1
"""Version of the backup directory's layout; a restore refuses a format it does not know."""

MANIFEST_FILE: Final = "manifest.json"
CLICKHOUSE_DIR: Final = "clickhouse"
"""The bar store's ``BACKUP DATABASE ... TO File(...)`` output."""
CATALOG_FILE: Final = "catalog.dump"
"""The catalog, ``pg_dump --format=custom``."""
SECRET_FILE: Final = "secret.key"  # noqa: S105 (a file name)
"""The embedded install's signing secret (sessions, sign-in links), when it has one."""


class BackupRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/v1/admin/backup``: where, on the server's machine, to write the backup."""

    path: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
    """An absolute directory path that does not exist yet, or is empty."""


class TableDigest(msgspec.Struct, frozen=True, kw_only=True):
    """Rows of one table and a checksum of their contents (order-independent)."""

    table: str
    rows: int
    checksum: str


class BackupManifest(msgspec.Struct, kw_only=True):
    """``manifest.json`` of a backup: what it holds, and the figures a restore is checked against."""

    format: int
    k2q_version: str
    created_at: dt.datetime
    migration: str | None
    """The last catalog migration applied when the backup was made."""
    clickhouse_database: str
    clickhouse: list[TableDigest]
    """Every table of the bar store: rows (``FINAL`` where the engine replaces) and ``sum(cityHash64(*))``."""
    catalog: list[TableDigest]
    """Datasets, users, API keys and strategies: rows and an md5 over their rows' text."""
    secret_key: bool
    """Whether ``secret.key`` is in the backup (an embedded install's signing secret)."""
    source: Literal["embedded", "server"]
    """Whether the bar store backed up was the embedded one (chDB) or a ClickHouse server."""
    bytes: int = 0
    """Size of the backup directory."""
