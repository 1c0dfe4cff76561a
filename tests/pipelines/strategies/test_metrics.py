"""Metrics of hand-made simulations, checked against numbers worked out by hand in the comments."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest

from pipelines.strategies.engine import Simulation, TradeArrays
from pipelines.strategies.metrics import YEAR_MS, compute_metrics
from schemas.strategies import METRIC_NAMES


def simulation(
    equity: Sequence[float], position: Sequence[float] | None = None, pnl: Sequence[float] = ()
) -> Simulation:
    count = len(pnl)
    floats = np.asarray(pnl, dtype=np.float64)
    trades = TradeArrays(
        entry_bar=np.zeros(count, dtype=np.int64),
        exit_bar=np.zeros(count, dtype=np.int64),
        entry_price=np.full(count, 100.0),
        exit_price=np.full(count, 100.0),
        size=np.ones(count),
        pnl=floats,
        return_pct=floats.copy(),  # one unit at 100: the pnl is the return in percent
        exit_reason=np.zeros(count, dtype=np.int8),
        commission=np.zeros(count),
    )
    held = np.zeros(len(equity)) if position is None else np.asarray(position, dtype=np.float64)
    return Simulation(equity=np.asarray(equity, dtype=np.float64), position=held, trades=trades)


def half_years(n: int) -> np.ndarray:
    return (np.arange(n) * (YEAR_MS / 2)).astype(np.int64)


def test_every_metric_of_a_small_run() -> None:
    equity = [100, 110, 99, 121, 110]
    close = np.array([50, 55, 60, 40, 75], dtype=np.float64)
    run = simulation(equity, position=[0, 1, 1, 0, 2], pnl=[10, -5, 20, -2.5])
    metrics = compute_metrics(half_years(5), close, run, 100.0)
    assert list(metrics) == list(METRIC_NAMES)

    # bars half a year apart: 2 years, 4 returns, 2 returns a year
    returns = [110 / 100 - 1, 99 / 110 - 1, 121 / 99 - 1, 110 / 121 - 1]  # 0.1, −0.1, 0.2222, −0.0909
    mean = sum(returns) / 4  # 0.032828
    std = math.sqrt(sum((r - mean) ** 2 for r in returns) / 4)  # 0.135403
    downside = math.sqrt((0.1**2 + (11 / 121) ** 2) / 4)  # 0.0675731
    expected = {
        "total_return_pct": 10.0,
        "cagr_pct": (math.sqrt(1.1) - 1) * 100,  # 4.881
        "volatility_pct": std * math.sqrt(2) * 100,  # 19.149
        "sharpe": mean / std * math.sqrt(2),  # 0.34287
        "sortino": mean / downside * math.sqrt(2),  # 0.68705
        "max_drawdown_pct": -10.0,  # 110 → 99
        "max_drawdown_duration_bars": 2.0,  # peak at bar 1, back above it at bar 3
        "win_rate_pct": 50.0,  # 2 of 4
        "profit_factor": 4.0,  # 30 / 7.5
        "expectancy_pct": 5.625,  # (10 − 5 + 20 − 2.5) / 4
        "exposure_pct": 60.0,  # 3 of 5 closes hold a position
        "num_trades": 4.0,
        "final_equity": 110.0,
        "buy_hold_return_pct": 50.0,  # 50 → 75
    }
    assert metrics == {name: pytest.approx(value, rel=1e-12) for name, value in expected.items()}
    assert metrics["sharpe"] == pytest.approx(0.34287, abs=1e-5)
    assert metrics["sortino"] == pytest.approx(0.68705, abs=1e-5)
    assert metrics["volatility_pct"] == pytest.approx(19.149, abs=1e-3)


def test_undefined_metrics_are_none() -> None:
    flat = compute_metrics(half_years(4), np.full(4, 10.0), simulation([100, 100, 100, 100]), 100.0)
    assert flat == {
        "total_return_pct": 0.0,
        "cagr_pct": 0.0,
        "volatility_pct": 0.0,
        "sharpe": None,  # no variance
        "sortino": None,  # no losing bar
        "max_drawdown_pct": 0.0,
        "max_drawdown_duration_bars": 0.0,
        "win_rate_pct": None,  # no trades
        "profit_factor": None,
        "expectancy_pct": None,
        "exposure_pct": 0.0,
        "num_trades": 0.0,
        "final_equity": 100.0,
        "buy_hold_return_pct": 0.0,
    }
    winners = compute_metrics(half_years(3), np.ones(3), simulation([100, 105, 110], pnl=[5, 5]), 100.0)
    assert winners["profit_factor"] is None  # no losses
    assert winners["win_rate_pct"] == 100.0
    one_bar = compute_metrics(np.zeros(1, dtype=np.int64), np.ones(1), simulation([100]), 100.0)
    assert one_bar["cagr_pct"] is None  # no span
    assert one_bar["sharpe"] is None
    assert one_bar["final_equity"] == 100.0


def test_a_ruined_run_and_a_short_span() -> None:
    ruined = compute_metrics(half_years(4), np.ones(4), simulation([100, 50, 0, 0], pnl=[-100]), 100.0)
    assert ruined["max_drawdown_pct"] == -100.0
    assert ruined["max_drawdown_duration_bars"] == 3.0  # from the first bar to the end, never recovered
    assert ruined["cagr_pct"] == -100.0
    assert ruined["total_return_pct"] == -100.0
    assert all(value is None or math.isfinite(value) for value in ruined.values())
    # doubling in one minute compounds past a float in a year: no CAGR rather than inf
    minute = compute_metrics(np.array([0, 60_000]), np.ones(2), simulation([100, 200]), 100.0)
    assert minute["cagr_pct"] is None
    assert minute["total_return_pct"] == 100.0


def test_drawdown_duration_counts_to_the_end_when_never_recovered() -> None:
    # a dip from bar 0 back at bar 2 (2 bars, −10%); then the peak 120 at bar 2, under water through
    # bar 6, the last: 4 bars
    run = simulation([100, 90, 120, 110, 115, 119, 118])
    metrics = compute_metrics(half_years(7), np.ones(7), run, 100.0)
    assert metrics["max_drawdown_duration_bars"] == 4.0
    assert metrics["max_drawdown_pct"] == pytest.approx(-10.0)
