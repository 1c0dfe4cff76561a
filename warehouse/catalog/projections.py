"""Projections and evaluations as recorded (``projections``, ``projection_evaluations``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from schemas.bars import SeriesKey
from schemas.projections import Evaluation, MethodScore, Projection, ProjectionScore
from warehouse.errors import NotFound

_COLUMNS = (
    "id, symbol, series, adjusted, timeframe, session, method, params, level, horizon, created_at, last_bar,"
    " status, owner, first_ts, last_ts, score, error, job_id"
)
_EVALUATION_COLUMNS = "id, symbol, timeframe, horizon, cuts, status, created_at, rows, error, job_id"


def _projection(row: dict[str, Any]) -> Projection:
    return msgspec.convert(row, Projection, strict=False)


class ProjectionRepository:
    """Rows of ``projections`` and ``projection_evaluations``."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def create(
        self,
        *,
        projection_id: str,
        ref: SeriesKey,
        timeframe: str,
        session: str,
        method: str,
        params: dict[str, float],
        level: float,
        horizon: int,
        owner: str,
        job_id: str | None,
    ) -> None:
        """Record a queued projection (``job_id`` None: computed by the caller)."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO projections (id, symbol, series, adjusted, timeframe, session, method, params,"
                " level, horizon, owner, status, job_id)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'queued', %s)",
                (
                    projection_id, ref.symbol, ref.series, ref.adjusted, timeframe, session, method,
                    Jsonb(params), level, horizon, owner, job_id,
                ),
            )  # fmt: skip

    async def finish(self, projection_id: str, *, last_bar: dt.datetime, first_ts: int, last_ts: int) -> None:
        """Mark a projection complete, with the last real bar it saw and its future span."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE projections SET status = 'complete', last_bar = %s, first_ts = %s, last_ts = %s,"
                " error = NULL WHERE id = %s",
                (last_bar, first_ts, last_ts, projection_id),
            )

    async def set_status(self, projection_id: str, status: str, error: str | None = None) -> None:
        """Mark a projection running or failed (with why)."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE projections SET status = %s, error = %s WHERE id = %s", (status, error, projection_id)
            )

    async def set_score(self, projection_id: str, score: ProjectionScore) -> None:
        """Store a projection's score."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE projections SET score = %s WHERE id = %s",
                (Jsonb(msgspec.to_builtins(score)), projection_id),
            )

    async def get(self, projection_id: str) -> Projection:
        """One projection.

        Raises:
            NotFound: no such projection.
        """
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(f"SELECT {_COLUMNS} FROM projections WHERE id = %s", (projection_id,))
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no projection {projection_id}")
        return _projection(row)

    async def many(self, projection_ids: list[str]) -> list[Projection]:
        """The projections of ``projection_ids`` that exist."""
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(f"SELECT {_COLUMNS} FROM projections WHERE id = ANY(%s)", (projection_ids,))
            rows = await cur.fetchall()
        return [_projection(row) for row in rows]

    async def for_series(self, symbol: str, timeframe: str | None) -> list[Projection]:
        """A symbol's projections (of one timeframe when given), newest first."""
        sql = f"SELECT {_COLUMNS} FROM projections WHERE symbol = %s"
        params: list[Any] = [symbol]
        if timeframe is not None:
            sql += " AND timeframe = %s"
            params.append(timeframe)
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql + " ORDER BY created_at DESC LIMIT 500", params)
            rows = await cur.fetchall()
        return [_projection(row) for row in rows]

    async def delete(self, projection_id: str) -> None:
        """Delete a projection's record.

        Raises:
            NotFound: no such projection.
        """
        async with self.pool.connection() as conn:
            cursor = await conn.execute("DELETE FROM projections WHERE id = %s", (projection_id,))
        if cursor.rowcount == 0:
            raise NotFound(f"no projection {projection_id}")

    async def create_evaluation(
        self,
        *,
        evaluation_id: str,
        ref: SeriesKey,
        timeframe: str,
        session: str,
        request: dict[str, Any],
        horizon: int,
        cuts: int,
        owner: str,
        job_id: str,
    ) -> None:
        """Record a queued evaluation."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO projection_evaluations (id, symbol, series, adjusted, timeframe, session,"
                " request, horizon, cuts, owner, status, job_id)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'queued', %s)",
                (
                    evaluation_id, ref.symbol, ref.series, ref.adjusted, timeframe, session, Jsonb(request),
                    horizon, cuts, owner, job_id,
                ),
            )  # fmt: skip

    async def finish_evaluation(
        self, evaluation_id: str, status: str, rows: list[MethodScore], error: str | None = None
    ) -> None:
        """Store an evaluation's scores (or why it failed)."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE projection_evaluations SET status = %s, rows = %s, error = %s WHERE id = %s",
                (status, Jsonb(msgspec.to_builtins(rows)), error, evaluation_id),
            )

    async def evaluation(self, evaluation_id: str) -> tuple[Evaluation, dict[str, Any]]:
        """An evaluation and its request.

        Raises:
            NotFound: no such evaluation.
        """
        sql = f"SELECT {_EVALUATION_COLUMNS}, request FROM projection_evaluations WHERE id = %s"
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, (evaluation_id,))
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no evaluation {evaluation_id}")
        request = row.pop("request")
        return msgspec.convert(row, Evaluation, strict=False), request

    async def leaderboard(self, symbol: str, timeframe: str) -> Evaluation | None:
        """The latest complete evaluation of a series, or None before one."""
        sql = (
            f"SELECT {_EVALUATION_COLUMNS} FROM projection_evaluations WHERE symbol = %s AND timeframe = %s"
            " AND status = 'complete' ORDER BY created_at DESC LIMIT 1"
        )
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, (symbol, timeframe))
            row = await cur.fetchone()
        return None if row is None else msgspec.convert(row, Evaluation, strict=False)
