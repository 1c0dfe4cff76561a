"""Fetch checkpoints: the windows a fetch job plans and which of them are stored.

A window is ``(job, symbol, first day, last day)`` of one series (source, bar width, adjustment).
It is marked ``done`` only after its bars are in the bar store, so a job that is killed, fails
or is cancelled can be run again without refetching what it finished:

* the same job, run again (a worker re-enqueues an orphaned job), keeps its own done windows;
* a new job over the same series windows takes over the done windows of the latest earlier job
  that planned them, when that job did not complete (failed, cancelled, or orphaned while
  running). After a job that completed, a new fetch refetches everything: it is a refresh.

A window is never taken over when its last day was not over (New York time) when it was stored:
the bars of a day still trading are incomplete.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final, Literal

import msgspec
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

WindowState = Literal["pending", "done", "failed"]

_PLAN: Final = """
    INSERT INTO fetch_windows (job_id, symbol, first_day, last_day, source, timespan, multiplier, adjusted)
    SELECT %(job)s, w.symbol, w.first_day, w.last_day, %(source)s, %(timespan)s, %(multiplier)s, %(adjusted)s
    FROM unnest(%(symbols)s::text[], %(firsts)s::date[], %(lasts)s::date[]) AS w(symbol, first_day, last_day)
    ON CONFLICT (job_id, symbol, first_day, last_day) DO UPDATE SET state = 'pending', error = NULL
        WHERE fetch_windows.state = 'failed'
"""

_INHERIT: Final = """
    WITH mine AS (
        SELECT symbol, first_day, last_day FROM fetch_windows WHERE job_id = %(job)s AND state <> 'done'
    ), latest AS (
        SELECT DISTINCT ON (p.symbol, p.first_day, p.last_day)
               p.symbol, p.first_day, p.last_day, p.state, p.bars, p.done_at, j.state AS job_state,
               j.heartbeat_at
        FROM fetch_windows p
        JOIN mine USING (symbol, first_day, last_day)
        JOIN jobs j ON j.id = p.job_id
        WHERE p.job_id <> %(job)s AND p.source = %(source)s AND p.timespan = %(timespan)s
          AND p.multiplier = %(multiplier)s AND p.adjusted = %(adjusted)s
          AND j.created_at <= (SELECT created_at FROM jobs WHERE id = %(job)s)
        ORDER BY p.symbol, p.first_day, p.last_day, j.created_at DESC
    )
    UPDATE fetch_windows w
    SET state = 'done', bars = latest.bars, done_at = latest.done_at, error = NULL, inherited = true
    FROM latest
    WHERE w.job_id = %(job)s AND w.symbol = latest.symbol AND w.first_day = latest.first_day
      AND w.last_day = latest.last_day AND latest.state = 'done'
      AND latest.last_day < (latest.done_at AT TIME ZONE 'America/New_York')::date
      AND (latest.job_state IN ('failed', 'cancelled')
           OR (latest.job_state IN ('queued', 'running')
               AND (latest.heartbeat_at IS NULL OR latest.heartbeat_at < %(stale_before)s)))
"""

_DONE: Final = """
    UPDATE fetch_windows w SET state = 'done', bars = v.bars, error = NULL, done_at = now(), inherited = false
    FROM unnest(%(symbols)s::text[], %(firsts)s::date[], %(lasts)s::date[], %(bars)s::bigint[])
         AS v(symbol, first_day, last_day, bars)
    WHERE w.job_id = %(job)s AND w.symbol = v.symbol AND w.first_day = v.first_day AND w.last_day = v.last_day
"""


class FetchSeries(msgspec.Struct, frozen=True, kw_only=True):
    """What a job's windows are windows of: a source, a bar width and an adjustment."""

    source: str
    timespan: str
    multiplier: int
    adjusted: bool


class WindowKey(msgspec.Struct, frozen=True, order=True):
    """One window of one symbol: its first and last exchange days, both inclusive."""

    symbol: str
    first: dt.date
    last: dt.date


class FetchWindow(msgspec.Struct, frozen=True, kw_only=True):
    """A window of a job, where it stands, and how many bars it brought."""

    key: WindowKey
    state: WindowState
    bars: int
    error: str | None
    inherited: bool


def _columns(keys: Sequence[WindowKey]) -> dict[str, list[Any]]:
    return {
        "symbols": [key.symbol for key in keys],
        "firsts": [key.first for key in keys],
        "lasts": [key.last for key in keys],
    }


def _to_window(row: dict[str, Any]) -> FetchWindow:
    return FetchWindow(
        key=WindowKey(row["symbol"], row["first_day"], row["last_day"]),
        state=row["state"],
        bars=int(row["bars"]),
        error=row["error"],
        inherited=row["inherited"],
    )


class FetchWindowRepository:
    """Rows of the ``fetch_windows`` table."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def plan(
        self, job_id: str, series: FetchSeries, keys: Sequence[WindowKey], *, stale_before: dt.datetime
    ) -> list[FetchWindow]:
        """Record the windows of job ``job_id`` and return them all, resumed work marked ``done``.

        Windows the job already finished stay done and its failed ones are planned again. Windows
        the latest earlier job over the same series window finished, when that job did not
        complete, are taken over (see the module docstring).

        Args:
            job_id: The job (a row of ``jobs``).
            series: What the windows are windows of.
            keys: The job's windows.
            stale_before: A running job whose last heartbeat is older is taken for dead.
        """
        params = {"job": job_id, "stale_before": stale_before, **msgspec.structs.asdict(series)}
        async with self.pool.connection() as conn:
            async with conn.transaction():
                await conn.execute(_PLAN, params | _columns(keys))
                await conn.execute(_INHERIT, params)
            async with conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(
                    "SELECT symbol, first_day, last_day, state, bars, error, inherited FROM fetch_windows"
                    " WHERE job_id = %s ORDER BY symbol, first_day",
                    (job_id,),
                )
                rows = await cur.fetchall()
        wanted = set(keys)
        return [window for window in map(_to_window, rows) if window.key in wanted]

    async def forget_inherited(self, job_id: str, symbols: Sequence[str]) -> None:
        """Plan again the windows of ``symbols`` that the job took over (their bars are gone)."""
        sql = """UPDATE fetch_windows SET state = 'pending', bars = 0, done_at = NULL, inherited = false
                 WHERE job_id = %s AND symbol = ANY(%s) AND inherited"""
        async with self.pool.connection() as conn:
            await conn.execute(sql, (job_id, list(symbols)))

    async def mark_done(self, job_id: str, windows: Sequence[tuple[WindowKey, int]]) -> None:
        """Record that these windows' bars (and how many) are stored."""
        if not windows:
            return
        keys = [key for key, _ in windows]
        params = {"job": job_id, "bars": [bars for _, bars in windows], **_columns(keys)}
        async with self.pool.connection() as conn:
            await conn.execute(_DONE, params)

    async def mark_failed(self, job_id: str, key: WindowKey, error: str) -> None:
        """Record that a window failed, and why."""
        sql = """UPDATE fetch_windows SET state = 'failed', error = %s
                 WHERE job_id = %s AND symbol = %s AND first_day = %s AND last_day = %s"""
        async with self.pool.connection() as conn:
            await conn.execute(sql, (error, job_id, key.symbol, key.first, key.last))

    async def of_job(self, job_id: str, state: WindowState | None = None) -> list[FetchWindow]:
        """The windows of a job (of one state when ``state`` is given), by symbol and date."""
        sql = """SELECT symbol, first_day, last_day, state, bars, error, inherited FROM fetch_windows
                 WHERE job_id = %s AND (%s::text IS NULL OR state = %s) ORDER BY symbol, first_day"""
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, (job_id, state, state))
            return [_to_window(row) for row in await cur.fetchall()]
