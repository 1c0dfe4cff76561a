"""The ``trade:`` joiner: a backtest run's trades as marker columns of a chart slice.

chart-data's ``run_id`` adds four float columns, a value per bucket (null elsewhere):

- ``trade:<run>:entry`` — the signed units of the first trade entered in the bucket (> 0 long,
  < 0 short), and ``trade:<run>:entry_price`` its fill price;
- ``trade:<run>:exit`` — the P&L of the trades exited in the bucket (summed), and
  ``trade:<run>:exit_price`` the last exit's fill price.

A trade's time is its fill bar's start, so a zoomed-out slice puts it in the bucket holding that
bar. Only the run's own symbol can carry its trades (another symbol is a 422).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from pipelines.charts.joins import Column, FutureRows, JoinContext
from schemas.bars import ChartDataRequest
from warehouse.catalog.strategy_runs import StrategyRunRepository
from warehouse.clickhouse.slice_search import Slice
from warehouse.errors import InvalidQuery, NotFound

PREFIX: Final = "trade:"
_RUN_ID: Final = re.compile(r"[0-9a-f]{32}")
_KEPT_RUNS: Final = 32
"""Complete runs' trades kept in memory (they never change once complete)."""


class _Trades:
    """Complete runs' trades by run id, least recently used dropped first."""

    def __init__(self, runs: StrategyRunRepository) -> None:
        self.runs = runs
        self.kept: OrderedDict[str, tuple[str | None, pa.Table]] = OrderedDict()

    async def of(self, run_id: str) -> tuple[str | None, pa.Table]:
        if run_id in self.kept:
            self.kept.move_to_end(run_id)
            return self.kept[run_id]
        try:
            run = await self.runs.get(run_id, trades_limit=0)
        except NotFound:
            raise NotFound(f"no run {run_id} to draw the trades of") from None
        if run.kind != "backtest":
            raise InvalidQuery(
                f"run {run_id} is a {run.kind.replace('_', '-')}: only a backtest has trades to draw"
            )
        if run.status != "complete":
            raise InvalidQuery(f"run {run_id} is {run.status}: its trades are drawn once it is complete")
        found = (run.pin.symbol if run.pin else run.symbol, await self.runs.trades(run_id))
        self.kept[run_id] = found
        while len(self.kept) > _KEPT_RUNS:
            self.kept.popitem(last=False)
        return found


def _ms(column: pa.ChunkedArray) -> NDArray[np.float64]:
    """Epoch milliseconds of a timestamp column, NaN where null."""
    return np.asarray(column.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def _buckets(ts: NDArray[np.int64], at: NDArray[np.float64], end: int) -> NDArray[np.int64]:
    """The bucket of ``ts`` holding each instant of ``at``; -1 outside the slice (or NaN)."""
    index = np.searchsorted(ts, at, side="right") - 1
    inside = (at >= ts[0]) & (at <= end)
    return np.where(inside, index, -1)


@dataclass(frozen=True, slots=True)
class TradeJoin:
    """One chart request's trade columns."""

    run_id: str
    trades: _Trades

    async def columns(self, bars: Slice, context: JoinContext) -> Sequence[Column]:
        """The four trade columns over ``bars`` (the run's trades read once, then kept)."""
        symbol, trades = await self.trades.of(self.run_id)
        if symbol is not None and symbol != context.query.ref.symbol:
            raise InvalidQuery(f"run {self.run_id} traded {symbol}, not {context.query.ref.symbol}")
        ts = bars.table.column("ts").cast(pa.int64()).to_numpy()
        rows = len(ts)
        entry = np.full(rows, np.nan)
        entry_price = np.full(rows, np.nan)
        exit_pnl = np.full(rows, np.nan)
        exit_price = np.full(rows, np.nan)
        if rows and trades.num_rows:
            end = int(context.query.end.timestamp() * 1000)
            at = _buckets(ts, _ms(trades.column("entry_time")), end)
            size = trades.column("size").to_numpy()
            price = trades.column("entry_price").to_numpy()
            hit = np.flatnonzero(at >= 0)
            first = hit[np.unique(at[hit], return_index=True)[1]]  # the first entry of each bucket
            entry[at[first]], entry_price[at[first]] = size[first], price[first]
            closed = _ms(trades.column("exit_time"))
            out = _buckets(ts, np.where(np.isnan(closed), -np.inf, closed), end)
            done = np.flatnonzero(out >= 0)
            if done.size:
                pnl = trades.column("pnl").to_numpy()
                sums = np.bincount(out[done], weights=pnl[done], minlength=rows)
                reached = np.bincount(out[done], minlength=rows) > 0
                exit_pnl[reached] = sums[reached]
                exit_price[out[done]] = trades.column("exit_price").to_numpy(zero_copy_only=False)[done]
        return [
            _column(f"{PREFIX}{self.run_id}:entry", entry),
            _column(f"{PREFIX}{self.run_id}:entry_price", entry_price),
            _column(f"{PREFIX}{self.run_id}:exit", exit_pnl),
            _column(f"{PREFIX}{self.run_id}:exit_price", exit_price),
        ]

    async def future(self, bars: Slice, context: JoinContext) -> FutureRows | None:
        """Trades add no rows after the last bar."""
        return None


def _column(name: str, values: np.ndarray) -> Column:
    return pa.field(name, pa.float64()), pa.array(values, type=pa.float64(), from_pandas=True)


class TradeJoiner:
    """Joins ``trade:`` columns for chart requests naming a ``run_id``."""

    prefix: Final = PREFIX

    def __init__(self, runs: StrategyRunRepository) -> None:
        self.trades = _Trades(runs)

    def plan(self, request: ChartDataRequest) -> TradeJoin | None:
        """A join when the request names a run.

        Raises:
            InvalidQuery: ``run_id`` is not a run id (32 hexadecimal digits).
        """
        if not request.run_id:
            return None
        if _RUN_ID.fullmatch(request.run_id) is None:
            raise InvalidQuery(f"run_id {request.run_id[:40]!r} is not a run id (32 hexadecimal digits)")
        return TradeJoin(request.run_id, self.trades)
