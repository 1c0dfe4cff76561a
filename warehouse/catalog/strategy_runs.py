"""Backtest runs with their trades and equity curves (``strategy_runs``, ``_trades``, ``_equity``).

A run is recorded when it is queued, so its id can be answered at once; the job fills in the
data it saw, the metrics, the audit, the trades and the curve in one transaction when it ends.
Trades and the equity curve are stored as Arrow IPC streams, one row per run however many trades
and bars (55,000 trades and 1M bars store in tens of milliseconds, where a row per trade took
about a second), read back whole, paged and thinned when answered.
"""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from schemas.strategies import (
    TRADE_ARROW_SCHEMA,
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
    " r.result, r.trades_total, r.duration_ms, r.symbol, r.timeframe,"
    " j.state AS job_state, j.error AS job_error"
)


class RunOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """What a finished run stores."""

    pin: SeriesPin
    params: dict[str, float]
    metrics: dict[str, float | None] | None = None
    audit: LookAheadAudit | None = None
    result: dict[str, Any] | None = None
    """A sweep's or walk-forward's table."""
    trades: pa.Table | None = None
    """A backtest's trades (:data:`~schemas.strategies.TRADE_ARROW_SCHEMA`)."""
    equity_ts: np.ndarray[Any, np.dtype[np.int64]] | None = None
    equity: np.ndarray[Any, np.dtype[np.float64]] | None = None
    duration_ms: float


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def _table(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


def _run(row: dict[str, Any]) -> StrategyRun:
    job_state, job_error = row.pop("job_state"), row.pop("job_error")
    if row["status"] in ("queued", "running") and job_state in ("failed", "cancelled"):
        # The job ended without the run: cancelled before it started, or failed outside it.
        row["status"] = "failed"
        row["error"] = "the run's job was cancelled" if job_state == "cancelled" else job_error
    result = row.pop("result") or {}
    row["sweep"] = result.get("sweep")
    row["walk_forward"] = result.get("walk_forward")
    return msgspec.convert(row, StrategyRun, strict=False)


def trade_list(table: pa.Table) -> list[Trade]:
    """The rows of a trade table as :class:`Trade` values."""
    return msgspec.convert(table.to_pylist(), list[Trade], strict=False)


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
        trades = outcome.trades if outcome.trades is not None else TRADE_ARROW_SCHEMA.empty_table()
        equity = None
        if outcome.equity is not None and outcome.equity_ts is not None:
            equity = _ipc(pa.table({"ts": outcome.equity_ts, "equity": outcome.equity}))
        async with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            await cur.execute(
                "INSERT INTO strategy_run_data (run_id, trades, equity) VALUES (%s, %b, %b)"
                " ON CONFLICT (run_id) DO UPDATE SET trades = EXCLUDED.trades, equity = EXCLUDED.equity",
                (run_id, _ipc(trades), equity),
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
                    trades.num_rows,
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
            " LEFT JOIN jobs j ON j.id = r.job_id WHERE r.id = %s"
        )
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, (run_id,))
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no run {run_id}")
        run = _run(row)
        if run.status == "complete" and run.kind == "backtest":
            page = (await self.trades(run_id)).slice(trades_offset, trades_limit) if trades_limit else None
            run.trades = trade_list(page) if page is not None else []
        return run

    async def trades(self, run_id: str) -> pa.Table:
        """Every trade of a run, in order (an empty table when it stored none)."""
        async with self.pool.connection() as conn, conn.cursor() as cur:
            await cur.execute("SELECT trades FROM strategy_run_data WHERE run_id = %s", (run_id,))
            row = await cur.fetchone()
        return TRADE_ARROW_SCHEMA.empty_table() if row is None else _table(row[0])

    async def equity(
        self, run_id: str
    ) -> tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.float64]]]:
        """A run's whole equity curve: bucket starts (epoch ms) and equity.

        Raises:
            NotFound: no such run, or it stored no curve (not complete, or a sweep).
        """
        async with self.pool.connection() as conn, conn.cursor() as cur:
            await cur.execute("SELECT equity FROM strategy_run_data WHERE run_id = %s", (run_id,))
            row = await cur.fetchone()
        if row is None or row[0] is None:
            raise NotFound(f"run {run_id} has no equity curve (it is not a complete backtest)")
        table = _table(row[0])
        return table.column("ts").to_numpy(), table.column("equity").to_numpy()

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
