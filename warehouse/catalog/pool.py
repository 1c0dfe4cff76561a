"""The Postgres connection pool and the migrations that shape the catalog."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Final

from psycopg_pool import AsyncConnectionPool

from warehouse.errors import Unavailable
from warehouse.redact import redact_url

MIGRATIONS_DIR: Final = Path(__file__).parent / "migrations"

CONNECTION_WAIT_S: Final = 5.0
"""Longest a caller waits for a connection. While Postgres is down the pool has none to give, and
the caller gets ``PoolTimeout`` (HTTP 503 with ``Retry-After``) instead of hanging for the pool's
default 30 s; the pool keeps reconnecting in the background, so once Postgres is back it serves
again without a restart of this process."""


async def open_pool(url: str, *, max_size: int = 10) -> AsyncConnectionPool:
    """Open an async pool on ``url`` and wait until one connection works.

    Each connection is checked as it is handed out: one that Postgres closed (a restart, a
    failover) is replaced instead of failing the request that drew it.

    Raises:
        Unavailable: Postgres cannot be reached within 10 s.
    """
    pool = AsyncConnectionPool(
        url,
        min_size=1,
        max_size=max_size,
        open=False,
        kwargs={"autocommit": True},
        timeout=CONNECTION_WAIT_S,
        check=AsyncConnectionPool.check_connection,
    )
    try:
        await pool.open(wait=True, timeout=10)
    except Exception as exc:
        await pool.close()
        raise Unavailable(f"cannot connect to Postgres at {redact_url(url)}: {exc}") from exc
    return pool


def _apply_migrations(url: str) -> list[str]:
    from yoyo import get_backend, read_migrations

    backend = get_backend(
        url.replace("postgresql://", "postgresql+psycopg://", 1).replace(
            "postgres://", "postgresql+psycopg://", 1
        )
    )
    try:
        migrations = read_migrations(str(MIGRATIONS_DIR))
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
        return [migration.id for migration in pending]
    finally:
        backend.connection.close()


async def migrate(url: str) -> list[str]:
    """Apply every pending migration under a lock; return the ids applied (empty when up to date)."""
    try:
        return await asyncio.to_thread(_apply_migrations, url)
    except Exception as exc:
        raise Unavailable(f"cannot migrate Postgres at {redact_url(url)}: {exc}") from exc
