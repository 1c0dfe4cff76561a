"""Background jobs: their request, state and progress, kept in Postgres."""

from __future__ import annotations

from typing import Any, Final

import msgspec
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from schemas.jobs import JobStatus, SymbolProgress
from schemas.values import JobState
from warehouse.errors import NotFound

_COLUMNS: Final = "id, kind, state, owner, progress, error, message, created_at, updated_at"


def _to_status(row: dict[str, Any]) -> JobStatus:
    return JobStatus(
        job_id=row["id"],
        kind=row["kind"],
        owner=row["owner"],
        state=row["state"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        symbols=msgspec.convert(row["progress"], list[SymbolProgress]),
        error=row["error"],
        message=row["message"],
    )


class JobRepository:
    """Rows of the ``jobs`` table."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def create(
        self, job_id: str, kind: str, request: msgspec.Struct, symbols: list[str], owner: str
    ) -> JobStatus:
        """Record a queued job started by ``owner``."""
        progress = [msgspec.to_builtins(SymbolProgress(symbol=symbol)) for symbol in symbols]
        sql = f"""INSERT INTO jobs (id, kind, state, owner, request, progress)
                  VALUES (%s, %s, 'queued', %s, %s, %s) RETURNING {_COLUMNS}"""
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                sql, (job_id, kind, owner, Jsonb(msgspec.to_builtins(request)), Jsonb(progress))
            )
            row = await cur.fetchone()
        assert row is not None
        return _to_status(row)

    async def get(self, job_id: str) -> JobStatus:
        """The job ``job_id``.

        Raises:
            NotFound: there is none.
        """
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = %s", (job_id,))
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no job {job_id!r}")
        return _to_status(row)

    async def update(
        self,
        job_id: str,
        *,
        state: JobState | None = None,
        progress: list[SymbolProgress] | None = None,
        error: str | None = None,
        message: str | None = None,
    ) -> None:
        """Change the given fields of a job (others stay as they are)."""
        sql = """UPDATE jobs SET state = coalesce(%s, state), progress = coalesce(%s, progress),
                 error = coalesce(%s, error), message = coalesce(%s, message), updated_at = now()
                 WHERE id = %s"""
        payload = Jsonb(msgspec.to_builtins(progress)) if progress is not None else None
        async with self.pool.connection() as conn:
            await conn.execute(sql, (state, payload, error, message, job_id))
