"""Background jobs of every kind: their request, state, progress and heartbeat, kept in Postgres."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

import msgspec
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from schemas.jobs import JobStatus, SymbolProgress
from schemas.values import JobState
from warehouse.errors import Conflict, NotFound

_COLUMNS: Final = "id, kind, state, owner, progress, error, message, created_at, updated_at, request_id"
_QUALIFIED: Final = ", ".join(f"jobs.{column.strip()}" for column in _COLUMNS.split(","))


class UnfinishedJob(msgspec.Struct, frozen=True, kw_only=True):
    """A job that is queued or running, with what it takes to run it again."""

    job_id: str
    kind: str
    state: JobState
    owner: str
    request: dict[str, Any]


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
        request_id=row["request_id"],
    )


class JobRepository:
    """Rows of the ``jobs`` table."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def create(
        self,
        job_id: str,
        kind: str,
        request: msgspec.Struct,
        symbols: list[str],
        owner: str,
        request_id: str | None = None,
    ) -> JobStatus:
        """Record a queued job started by ``owner`` (in HTTP request ``request_id``, if any)."""
        progress = [msgspec.to_builtins(SymbolProgress(symbol=symbol)) for symbol in symbols]
        sql = f"""INSERT INTO jobs (id, kind, state, owner, request, progress, request_id)
                  VALUES (%s, %s, 'queued', %s, %s, %s, %s) RETURNING {_COLUMNS}"""
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                sql,
                (job_id, kind, owner, Jsonb(msgspec.to_builtins(request)), Jsonb(progress), request_id),
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

    async def start(self, job_id: str, runner: str) -> JobState:
        """Mark a queued (or orphaned running) job running in ``runner``; return its state afterwards.

        A job cancelled before it started stays cancelled, and a finished one stays finished.

        Raises:
            NotFound: there is no such job.
        """
        sql = """UPDATE jobs SET state = 'running', heartbeat_at = now(), runner = %s, updated_at = now()
                 WHERE id = %s AND state IN ('queued', 'running') RETURNING state"""
        async with self.pool.connection() as conn:
            row = await (await conn.execute(sql, (runner, job_id))).fetchone()
        return row[0] if row is not None else (await self.get(job_id)).state

    async def beat(self, job_id: str, runner: str) -> JobState | None:
        """Record that ``runner`` still runs the job; return the job's state (None when it is gone)."""
        sql = "UPDATE jobs SET heartbeat_at = now(), runner = %s WHERE id = %s RETURNING state"
        async with self.pool.connection() as conn:
            cur = await conn.execute(sql, (runner, job_id))
            row = await cur.fetchone()
        return row[0] if row is not None else None

    async def finish(
        self,
        job_id: str,
        state: JobState,
        *,
        progress: list[SymbolProgress] | None = None,
        error: str | None = None,
        message: str | None = None,
    ) -> JobState:
        """Record how a running job ended; a job cancelled meanwhile stays cancelled. Return the state."""
        sql = """UPDATE jobs SET state = CASE WHEN state = 'cancelled' THEN state ELSE %s END,
                 progress = coalesce(%s, progress), error = %s, message = coalesce(%s, message),
                 updated_at = now() WHERE id = %s RETURNING state"""
        payload = Jsonb(msgspec.to_builtins(progress)) if progress is not None else None
        async with self.pool.connection() as conn:
            row = await (await conn.execute(sql, (state, payload, error, message, job_id))).fetchone()
        return row[0] if row is not None else state

    async def cancel(self, job_id: str) -> tuple[JobStatus, JobState]:
        """Cancel a queued or running job; return its status and the state it was in.

        Raises:
            NotFound: there is no such job.
            Conflict: it already ended (complete, failed or cancelled).
        """
        sql = f"""UPDATE jobs SET state = 'cancelled', message = 'cancelled', updated_at = now()
                  FROM (SELECT id, state AS before FROM jobs WHERE id = %s FOR UPDATE) AS old
                  WHERE jobs.id = old.id AND old.before IN ('queued', 'running')
                  RETURNING {_QUALIFIED}, old.before"""
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, (job_id,))
            row = await cur.fetchone()
        if row is None:
            job = await self.get(job_id)
            raise Conflict(f"job {job_id} already ended: it is {job.state}")
        return _to_status(row), row["before"]

    async def unfinished_counts(self) -> dict[tuple[str, str], int]:
        """How many jobs are queued and running now, by ``(kind, state)``."""
        sql = """SELECT kind, state, count(*) FROM jobs WHERE state IN ('queued', 'running')
                 GROUP BY kind, state"""
        async with self.pool.connection() as conn, conn.cursor() as cur:
            await cur.execute(sql)
            rows = await cur.fetchall()
        return {(str(kind), str(state)): int(count) for kind, state, count in rows}

    async def unfinished(
        self,
        kinds: Sequence[str],
        *,
        beaten_before: dt.datetime | None = None,
        not_run_by: str | None = None,
    ) -> list[UnfinishedJob]:
        """Jobs of one of ``kinds`` still queued, or running but orphaned, oldest first.

        A running job is orphaned when it has no heartbeat since ``beaten_before``, or, when
        ``not_run_by`` is given, when another runner beat it last (as when one process owns the stores).
        """
        orphaned = ["heartbeat_at IS NULL"]
        if beaten_before is not None:
            orphaned.append("heartbeat_at < %(before)s")
        if not_run_by is not None:
            orphaned.append("runner IS DISTINCT FROM %(runner)s")
        sql = f"""SELECT id, kind, state, owner, request FROM jobs WHERE kind = ANY(%(kinds)s)
                  AND (state = 'queued' OR (state = 'running' AND ({" OR ".join(orphaned)})))
                  ORDER BY created_at"""
        params = {"kinds": list(kinds), "before": beaten_before, "runner": not_run_by}
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, params)
            rows = await cur.fetchall()
        return [
            UnfinishedJob(
                job_id=row["id"],
                kind=row["kind"],
                state=row["state"],
                owner=row["owner"],
                request=row["request"],
            )
            for row in rows
        ]
