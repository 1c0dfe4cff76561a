"""One backtest from a parsed strategy: signals, the simulation, metrics and trades.

The pure core every run shares (single backtests, sweeps, walk-forward folds, the benchmark):
no stores, no events, arrays in and arrays out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from pipelines.indicators.specs import BucketSeries
from pipelines.strategies.engine import EXIT_REASONS, Simulation, simulate
from pipelines.strategies.language.evaluate import IndicatorCache, StrategyInputs, Trace, evaluate
from pipelines.strategies.language.syntax import Program
from pipelines.strategies.metrics import compute_metrics
from pipelines.strategies.signals import Signals
from schemas.strategies import BacktestMode, Trade


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


def _time(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def _number(value: Any) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None


def trades_of(bars: BucketSeries, simulation: Simulation) -> list[Trade]:
    """The simulation's trades with their times (a trade still open at the end has no exit)."""
    arrays = simulation.trades
    trades = []
    for i in range(len(arrays.entry_bar)):
        entry_bar = int(arrays.entry_bar[i])
        exit_bar = int(arrays.exit_bar[i])
        still_open = exit_bar < 0
        last = len(bars) - 1 if still_open else exit_bar
        trades.append(
            Trade(
                entry_time=_time(int(bars.ts[entry_bar])),
                exit_time=None if still_open else _time(int(bars.ts[exit_bar])),
                entry_price=float(arrays.entry_price[i]),
                exit_price=None if still_open else _number(arrays.exit_price[i]),
                size=float(arrays.size[i]),
                pnl=float(arrays.pnl[i]),
                return_pct=float(arrays.return_pct[i]),
                duration_bars=last - entry_bar,
                exit_reason=EXIT_REASONS[int(arrays.exit_reason[i])],
                entry_bar=entry_bar,
                exit_bar=None if still_open else exit_bar,
            )
        )
    return trades
