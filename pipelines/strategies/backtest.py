"""One backtest from a parsed strategy: signals, the simulation, metrics and trades.

The pure core every run shares (single backtests, sweeps, walk-forward folds, the benchmark):
no stores, no events, arrays in and arrays out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa

from pipelines.indicators.specs import BucketSeries
from pipelines.strategies.engine import EXIT_REASONS, Simulation, simulate
from pipelines.strategies.language.evaluate import IndicatorCache, StrategyInputs, Trace, evaluate
from pipelines.strategies.language.syntax import Program
from pipelines.strategies.metrics import compute_metrics
from pipelines.strategies.signals import Signals
from schemas.strategies import TRADE_ARROW_SCHEMA, BacktestMode, Trade
from warehouse.catalog.strategy_runs import trade_list


@dataclass(frozen=True, slots=True)
class BacktestSettings:
    """The money side of a run."""

    cash: float = 10_000.0
    commission: float = 0.0
    slippage: float = 0.0
    mode: BacktestMode = "default"


@dataclass(frozen=True, slots=True)
class Backtest:
    """A finished backtest: the signals it read, the simulation and its metrics."""

    signals: Signals
    simulation: Simulation
    metrics: dict[str, float | None]


def run_backtest(
    program: Program,
    inputs: StrategyInputs,
    params: Mapping[str, float],
    settings: BacktestSettings,
    cache: IndicatorCache | None = None,
    trace: Trace | None = None,
) -> Backtest:
    """Evaluate ``program`` over ``inputs`` and simulate its trades (``trace``: see ``evaluate``)."""
    signals = evaluate(program, inputs, params, cache, trace)
    return simulate_signals(inputs.bars, signals, settings)


def simulate_signals(bars: BucketSeries, signals: Signals, settings: BacktestSettings) -> Backtest:
    """Simulate ``signals`` over ``bars`` (read on a bar's close, filled at the next bar's open)."""
    simulation = simulate(
        bars.ts,
        bars.open,
        bars.high,
        bars.low,
        bars.close,
        signals,
        cash=settings.cash,
        commission=settings.commission,
        slippage=settings.slippage,
        mode=settings.mode,
    )
    metrics = compute_metrics(bars.ts, bars.close, simulation, settings.cash)
    return Backtest(signals=signals, simulation=simulation, metrics=metrics)


def head(bars: BucketSeries, stop: int, start: int = 0) -> BucketSeries:
    """The buckets ``[start, stop)`` of ``bars``."""
    return BucketSeries(
        ts=bars.ts[start:stop],
        open=bars.open[start:stop],
        high=bars.high[start:stop],
        low=bars.low[start:stop],
        close=bars.close[start:stop],
        volume=bars.volume[start:stop],
    )


def signals_slice(signals: Signals, start: int, stop: int) -> Signals:
    """The bars ``[start, stop)`` of ``signals``."""
    return replace(
        signals,
        long_entry=signals.long_entry[start:stop],
        long_exit=signals.long_exit[start:stop],
        short_entry=signals.short_entry[start:stop],
        short_exit=signals.short_exit[start:stop],
        stop_loss=signals.stop_loss[start:stop],
        take_profit=signals.take_profit[start:stop],
        trailing_stop=signals.trailing_stop[start:stop],
        size=signals.size[start:stop],
        series={name: values[start:stop] for name, values in signals.series.items()},
    )


def trade_table(bars: BucketSeries, simulation: Simulation) -> pa.Table:
    """The simulation's trades with their times (:data:`~schemas.strategies.TRADE_ARROW_SCHEMA`).

    A trade still open at the last bar has no exit time, price or bar; its duration runs to the end.
    """
    arrays = simulation.trades
    entry_bar = np.asarray(arrays.entry_bar, dtype=np.int64)
    exit_bar = np.asarray(arrays.exit_bar, dtype=np.int64)
    still_open = exit_bar < 0
    last = np.where(still_open, len(bars) - 1, exit_bar)
    reasons = np.asarray(EXIT_REASONS, dtype=object)[np.asarray(arrays.exit_reason, dtype=np.int64)]
    columns = {
        "entry_time": pa.array(bars.ts[entry_bar], type=pa.timestamp("ms", tz="UTC")),
        "exit_time": pa.array(
            bars.ts[np.maximum(exit_bar, 0)], type=pa.timestamp("ms", tz="UTC"), mask=still_open
        ),
        "entry_price": pa.array(arrays.entry_price, type=pa.float64()),
        "exit_price": pa.array(arrays.exit_price, type=pa.float64(), mask=still_open),
        "size": pa.array(arrays.size, type=pa.float64()),
        "pnl": pa.array(arrays.pnl, type=pa.float64()),
        "return_pct": pa.array(arrays.return_pct, type=pa.float64()),
        "duration_bars": pa.array(last - entry_bar, type=pa.int32()),
        "exit_reason": pa.array(reasons, type=pa.string()),
        "entry_bar": pa.array(entry_bar, type=pa.int32()),
        "exit_bar": pa.array(exit_bar, type=pa.int32(), mask=still_open),
    }
    return pa.table(columns, schema=TRADE_ARROW_SCHEMA)


def trades_of(bars: BucketSeries, simulation: Simulation) -> list[Trade]:
    """The simulation's trades as :class:`Trade` values (see :func:`trade_table`)."""
    return trade_list(trade_table(bars, simulation))
