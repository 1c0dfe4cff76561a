"""Backtest runs with their trades and equity curves (``strategy_runs``, ``_trades``, ``_equity``).

A run is recorded when it is queued, so its id can be answered at once; the job fills in the
data it saw, the metrics, the audit, the trades and the curve in one transaction when it ends.
The equity curve is stored as two little-endian arrays (bucket starts and equity): one row per
run however long, read back whole and thinned for drawing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import msgspec
import numpy as np
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from schemas.strategies import (
    LookAheadAudit,
    RunKind,
    SeriesPin,
    StrategyRun,
    StrategyRunSummary,
    Trade,
)
from warehouse.errors import NotFound

_RUN_COLUMNS = (
    "r.id AS run_id, r.kind, r.status, r.strategy_id, s.name AS strategy_name, r.strategy_version, r.owner,"
    " r.request, r.created_at, r.finished_at, r.job_id, r.error, r.pin, r.params, r.metrics, r.audit,"
    " r.result, r.trades_total, r.duration_ms, r.symbol, r.timeframe"
)
_TRADE_COLUMNS = (
    "entry_time, exit_time, entry_price, exit_price, size, pnl, return_pct, duration_bars, exit_reason,"
    " entry_bar, exit_bar"
)


class RunOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """What a finished run stores."""

    pin: SeriesPin
    params: dict[str, float]
    metrics: dict[str, float | None] | None = None
    audit: LookAheadAudit | None = None
    result: dict[str, Any] | None = None
    """A sweep's or walk-forward's table."""
    trades: Sequence[Trade] = ()
    equity_ts: np.ndarray[Any, np.dtype[np.int64]] | None = None
    equity: np.ndarray[Any, np.dtype[np.float64]] | None = None
    duration_ms: float


def _run(row: dict[str, Any]) -> StrategyRun:
    result = row.pop("result") or {}
    row["sweep"] = result.get("sweep")
    row["walk_forward"] = result.get("walk_forward")
    return msgspec.convert(row, StrategyRun, strict=False)


class StrategyRunRepository:
    """Rows of ``strategy_runs`` and what hangs off them."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def create(
        self,
        *,
        run_id: str,
        kind: RunKind,
        strategy_id: int,
        strategy_version: int,
        owner: str,
        request: dict[str, Any],
        symbol: str | None,
        timeframe: str | None,
    ) -> None:
        """Record a queued run."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO strategy_runs (id, kind, status, strategy_id, strategy_version, owner, request,"
                " symbol, timeframe) VALUES (%s, %s, 'queued', %s, %s, %s, %s, %s, %s)",
                (run_id, kind, strategy_id, strategy_version, owner, Jsonb(request), symbol, timeframe),
            )

    async def set_job(self, run_id: str, job_id: str) -> None:
        """Record the job that runs ``run_id``."""
        async with self.pool.connection() as conn:
            await conn.execute("UPDATE strategy_runs SET job_id = %s WHERE id = %s", (job_id, run_id))

    async def start(self, run_id: str) -> None:
        """Mark a run running."""
        async with self.pool.connection() as conn:
            await conn.execute("UPDATE strategy_runs SET status = 'running' WHERE id = %s", (run_id,))

    async def fail(self, run_id: str, error: str) -> None:
        """Mark a run failed with why."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE strategy_runs SET status = 'failed', error = %s, finished_at = now() WHERE id = %s",
                (error, run_id),
            )

    async def complete(self, run_id: str, outcome: RunOutcome) -> None:
        """Store everything a run produced and mark it complete, in one transaction."""
        rows = [
            (
                run_id,
                n,
                trade.entry_time,
                trade.exit_time,
                trade.entry_price,
                trade.exit_price,
                trade.size,
                trade.pnl,
                trade.return_pct,
                trade.duration_bars,
                trade.exit_reason,
                trade.entry_bar,
                trade.exit_bar,
            )
            for n, trade in enumerate(outcome.trades)
        ]
        async with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            await cur.execute("DELETE FROM strategy_trades WHERE run_id = %s", (run_id,))
            await cur.execute("DELETE FROM strategy_equity WHERE run_id = %s", (run_id,))
            if rows:
                async with cur.copy(f"COPY strategy_trades (run_id, n, {_TRADE_COLUMNS}) FROM STDIN") as copy:
                    for row in rows:
                        await copy.write_row(row)
            if outcome.equity is not None and outcome.equity_ts is not None:
                await cur.execute(
                    "INSERT INTO strategy_equity (run_id, ts, equity) VALUES (%s, %s, %s)",
                    (
                        run_id,
                        np.ascontiguousarray(outcome.equity_ts, dtype="<i8").tobytes(),
                        np.ascontiguousarray(outcome.equity, dtype="<f8").tobytes(),
                    ),
                )
            await cur.execute(
                "UPDATE strategy_runs SET status = 'complete', finished_at = now(), pin = %s, params = %s,"
                " metrics = %s, audit = %s, result = %s, trades_total = %s, duration_ms = %s, error = NULL"
                " WHERE id = %s",
                (
                    Jsonb(msgspec.to_builtins(outcome.pin)),
                    Jsonb(outcome.params),
                    None if outcome.metrics is None else Jsonb(outcome.metrics),
                    None if outcome.audit is None else Jsonb(msgspec.to_builtins(outcome.audit)),
                    None if outcome.result is None else Jsonb(outcome.result),
                    len(rows),
                    outcome.duration_ms,
                    run_id,
                ),
            )

    async def get(self, run_id: str, *, trades_limit: int = 1000, trades_offset: int = 0) -> StrategyRun:
        """A run with up to ``trades_limit`` of its trades from ``trades_offset``.

        Raises:
            NotFound: no such run.
        """
        sql = (
            f"SELECT {_RUN_COLUMNS} FROM strategy_runs r JOIN strategies s ON s.id = r.strategy_id"
            " WHERE r.id = %s"
        )
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, (run_id,))
            row = await cur.fetchone()
            if row is None:
                raise NotFound(f"no run {run_id}")
            trades = None
            if row["status"] == "complete" and row["kind"] == "backtest":
                await cur.execute(
                    f"SELECT {_TRADE_COLUMNS} FROM strategy_trades WHERE run_id = %s ORDER BY n"
                    " LIMIT %s OFFSET %s",
                    (run_id, trades_limit, trades_offset),
                )
                trades = await cur.fetchall()
        run = _run(row)
        if trades is not None:
            run.trades = [msgspec.convert(trade, Trade, strict=False) for trade in trades]
        return run

    async def trades(self, run_id: str) -> list[Trade]:
        """Every trade of a run, in order."""
        sql = f"SELECT {_TRADE_COLUMNS} FROM strategy_trades WHERE run_id = %s ORDER BY n"
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, (run_id,))
            rows = await cur.fetchall()
        return [msgspec.convert(row, Trade, strict=False) for row in rows]

    async def equity(
        self, run_id: str
    ) -> tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.float64]]]:
        """A run's whole equity curve: bucket starts (epoch ms) and equity.

        Raises:
            NotFound: no such run, or it stored no curve (not complete, or a sweep).
        """
        async with self.pool.connection() as conn, conn.cursor() as cur:
            await cur.execute("SELECT ts, equity FROM strategy_equity WHERE run_id = %s", (run_id,))
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"run {run_id} has no equity curve (it is not a complete backtest)")
        return np.frombuffer(row[0], dtype="<i8"), np.frombuffer(row[1], dtype="<f8")

    async def for_strategy(self, strategy_id: int, *, limit: int = 100) -> list[StrategyRunSummary]:
        """A strategy's latest runs, newest first."""
        sql = (
            "SELECT id AS run_id, kind, status, strategy_version, symbol, timeframe, created_at, metrics,"
            " (audit->>'uses_future_data')::boolean AS uses_future_data FROM strategy_runs"
            " WHERE strategy_id = %s ORDER BY created_at DESC LIMIT %s"
        )
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, (strategy_id, limit))
            rows = await cur.fetchall()
        return [msgspec.convert(row, StrategyRunSummary, strict=False) for row in rows]

    async def unfinished_before(self, moment: dt.datetime) -> list[str]:
        """Runs still queued or running that were created before ``moment``."""
        async with self.pool.connection() as conn, conn.cursor() as cur:
            await cur.execute(
                "SELECT id FROM strategy_runs WHERE status IN ('queued', 'running') AND created_at < %s",
                (moment,),
            )
            return [row[0] for row in await cur.fetchall()]
