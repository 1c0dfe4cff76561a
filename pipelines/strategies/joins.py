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

import datetime as dt
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pyarrow as pa

from pipelines.charts.joins import Column, JoinContext
from schemas.bars import ChartDataRequest
from schemas.strategies import Trade
from warehouse.catalog.strategy_runs import StrategyRunRepository
from warehouse.clickhouse.slice_search import Slice
from warehouse.errors import InvalidQuery, NotFound

PREFIX: Final = "trade:"
_KEPT_RUNS: Final = 32
"""Complete runs' trades kept in memory (they never change once complete)."""


class _Trades:
    """Complete runs' trades by run id, least recently used dropped first."""

    def __init__(self, runs: StrategyRunRepository) -> None:
        self.runs = runs
        self.kept: OrderedDict[str, tuple[str | None, list[Trade]]] = OrderedDict()

    async def of(self, run_id: str) -> tuple[str | None, list[Trade]]:
        if run_id in self.kept:
            self.kept.move_to_end(run_id)
            return self.kept[run_id]
        run = await self.runs.get(run_id, trades_limit=0)
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


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class TradeJoin:
    """One chart request's trade columns."""

    run_id: str
    trades: _Trades

    async def columns(self, bars: Slice, context: JoinContext) -> Sequence[Column]:
        """The four trade columns over ``bars`` (the run's trades read once, then kept)."""
        try:
            symbol, trades = await self.trades.of(self.run_id)
        except NotFound:
            raise NotFound(f"no run {self.run_id} to draw trades of") from None
        if symbol is not None and symbol != context.query.ref.symbol:
            raise InvalidQuery(f"run {self.run_id} traded {symbol}, not {context.query.ref.symbol}")
        ts = bars.table.column("ts").cast(pa.int64()).to_numpy()
        rows = len(ts)
        entry = np.full(rows, np.nan)
        entry_price = np.full(rows, np.nan)
        exit_pnl = np.full(rows, np.nan)
        exit_price = np.full(rows, np.nan)
        if rows and context.query.end is not None:
            end = int(context.query.end.timestamp() * 1000)
            for trade in trades:
                at = _bucket(ts, _ms(trade.entry_time), end)
                if at is not None and np.isnan(entry[at]):
                    entry[at], entry_price[at] = trade.size, trade.entry_price
                if trade.exit_time is not None and trade.exit_price is not None:
                    at = _bucket(ts, _ms(trade.exit_time), end)
                    if at is not None:
                        exit_pnl[at] = trade.pnl + (0.0 if np.isnan(exit_pnl[at]) else exit_pnl[at])
                        exit_price[at] = trade.exit_price
        return [
            _column(f"{PREFIX}{self.run_id}:entry", entry),
            _column(f"{PREFIX}{self.run_id}:entry_price", entry_price),
            _column(f"{PREFIX}{self.run_id}:exit", exit_pnl),
            _column(f"{PREFIX}{self.run_id}:exit_price", exit_price),
        ]


def _bucket(ts: np.ndarray, at: int, end: int) -> int | None:
    """The bucket holding instant ``at``, or None when it falls outside the slice."""
    if at < ts[0] or at > end:
        return None
    return int(np.searchsorted(ts, at, side="right") - 1)


def _column(name: str, values: np.ndarray) -> Column:
    return pa.field(name, pa.float64()), pa.array(values, type=pa.float64(), from_pandas=True)


class TradeJoiner:
    """Joins ``trade:`` columns for chart requests naming a ``run_id``."""

    prefix: Final = PREFIX

    def __init__(self, runs: StrategyRunRepository) -> None:
        self.trades = _Trades(runs)

    def plan(self, request: ChartDataRequest) -> TradeJoin | None:
        """A join when the request names a run."""
        return TradeJoin(request.run_id, self.trades) if request.run_id else None
