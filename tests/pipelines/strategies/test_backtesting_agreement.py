"""Our ``backtesting.py`` mode against backtesting.py 0.6.6 itself, trade for trade, on its GOOG data.

1. Its documented SmaCross (SMA 10/20, cash 10,000, commission 0.2%) — the Quick Start form
   (``position.close()`` then ``buy()``/``sell()``) and the README form (``exclusive_orders=True``) —
   against our engine fed ``crossover`` signals built in NumPy as the strategy language builds them.
2. Random signals with stop-loss, take-profit, trailing stop, fraction and unit sizes, spread and
   commission, against :class:`FromSignals`, a backtesting.py strategy that does what our mode's
   conventions say (see ``pipelines.strategies.engine``).
3. Our default mode on the SmaCross signals: the same trades in time, differing only as its
   conventions say (fractional units).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
import talib
from backtesting import Backtest, Strategy  # type: ignore[import-untyped]
from backtesting.lib import crossover as bt_crossover  # type: ignore[import-untyped]
from backtesting.test import GOOG, SMA  # type: ignore[import-untyped]

from pipelines.strategies.engine import EngineMode, Simulation, simulate
from pipelines.strategies.signals import Signals

CASH = 10_000.0
COMMISSION = 0.002


class SmaCross(Strategy):  # type: ignore[misc]
    """backtesting.py's Quick Start example."""

    n1 = 10
    n2 = 20

    def init(self) -> None:
        close = self.data.Close
        self.sma1 = self.I(SMA, close, self.n1)
        self.sma2 = self.I(SMA, close, self.n2)

    def next(self) -> None:
        if bt_crossover(self.sma1, self.sma2):
            self.position.close()
            self.buy()
        elif bt_crossover(self.sma2, self.sma1):
            self.position.close()
            self.sell()


class ExclusiveSmaCross(SmaCross):
    """The README's form: run with ``exclusive_orders=True``, each order closes the open trade."""

    def next(self) -> None:
        if bt_crossover(self.sma1, self.sma2):
            self.buy()
        elif bt_crossover(self.sma2, self.sma1):
            self.sell()


class FromSignals(Strategy):  # type: ignore[misc]
    """Our signals as a backtesting.py strategy: what our ``backtesting.py`` mode's conventions say."""

    signals: ClassVar[Signals]

    def init(self) -> None:
        self.trails: dict[int, float] = {}  # the trailing percent of the trade entered at a bar

    def next(self) -> None:
        s, i, close = self.signals, len(self.data) - 1, self.data.Close[-1]
        for trade in self.trades:  # backtesting.lib.TrailingStrategy, in percent
            trail = self.trails.get(trade.entry_bar, math.nan)
            if math.isfinite(trail):
                if trade.is_long:
                    trade.sl = max(trade.sl or -np.inf, close * (1 - trail / 100))
                else:
                    trade.sl = min(trade.sl or np.inf, close * (1 + trail / 100))
        go_long = s.long_entry[i] and not s.long_exit[i]
        go_short = s.short_entry[i] and not s.short_exit[i]
        if go_long and go_short:
            go_long = go_short = False
        if not self.position:
            if go_long or go_short:
                self._enter(1 if go_long else -1, i, close)
        elif self.position.is_long:
            if go_short:
                self.position.close()
                self._enter(-1, i, close)
            elif s.long_exit[i]:
                self.position.close()
        elif go_long:
            self.position.close()
            self._enter(1, i, close)
        elif s.short_exit[i]:
            self.position.close()

    def _enter(self, direction: int, i: int, close: float) -> None:
        s = self.signals
        order: dict[str, float] = {}
        wanted = s.size[i]
        if s.size_in_units and math.isfinite(wanted):
            if math.floor(wanted) < 1:
                return
            order["size"] = float(math.floor(wanted))
        elif math.isfinite(wanted) and wanted < 1:
            order["size"] = wanted
        stop, target = s.stop_loss[i], s.take_profit[i]
        if math.isfinite(stop) and stop > 0 and (direction < 0 or stop < 100):
            order["sl"] = close * (1 - direction * stop / 100)
        if math.isfinite(target) and target > 0 and (direction > 0 or target < 100):
            order["tp"] = close * (1 + direction * target / 100)
        (self.buy if direction > 0 else self.sell)(**order)
        self.trails[i + 1] = s.trailing_stop[i]  # market orders fill at the next bar


def run_backtesting_py(strategy: type, **options: Any) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "some trades remain open", tqdm, pandas
        return Backtest(GOOG, strategy, cash=CASH, **options).run()


def run_ours(
    signals: Signals, *, mode: EngineMode, commission: float = COMMISSION, slippage: float = 0.0
) -> Simulation:
    ts = GOOG.index.to_numpy().astype("datetime64[ms]").astype(np.int64)
    open_, high, low, close = (
        GOOG[column].to_numpy(dtype=np.float64) for column in ("Open", "High", "Low", "Close")
    )
    return simulate(
        ts, open_, high, low, close, signals, cash=CASH, commission=commission, slippage=slippage, mode=mode
    )


def crossover(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The language's ``crossover``: above now, at or below on the bar before (NaN compares false)."""
    crossed = np.zeros(a.shape[0], dtype=np.bool_)
    crossed[1:] = (a[1:] > b[1:]) & (a[:-1] <= b[:-1])
    return crossed


def sma_cross_signals() -> Signals:
    close = GOOG.Close.to_numpy(dtype=np.float64)
    fast, slow = talib.SMA(close, 10), talib.SMA(close, 20)
    n = close.shape[0]
    none, nan = np.zeros(n, dtype=np.bool_), np.full(n, np.nan)
    return Signals(
        long_entry=crossover(fast, slow),
        long_exit=none,
        short_entry=crossover(slow, fast),
        short_exit=none,
        stop_loss=nan,
        take_profit=nan,
        trailing_stop=nan,
        size=nan,
        size_in_units=False,
        series={},
    )


def assert_same_trades(stats: pd.Series, ours: Simulation) -> None:
    """Every closed trade equal (bars, prices, sizes exactly; PnL, return and commission to 1e-9)."""
    theirs = stats._trades
    trades = ours.trades
    closed = trades.exit_bar >= 0
    assert int(np.count_nonzero(closed)) == len(theirs)
    assert trades.entry_bar[closed].tolist() == theirs.EntryBar.tolist()
    assert trades.exit_bar[closed].tolist() == theirs.ExitBar.tolist()
    assert trades.size[closed].tolist() == theirs.Size.astype(float).tolist()
    assert trades.entry_price[closed].tolist() == theirs.EntryPrice.tolist()
    assert trades.exit_price[closed].tolist() == theirs.ExitPrice.tolist()
    assert trades.pnl[closed] == pytest.approx(theirs.PnL.to_numpy(), rel=1e-9, abs=1e-9)
    assert trades.return_pct[closed] == pytest.approx(theirs.ReturnPct.to_numpy() * 100, rel=1e-9, abs=1e-9)
    assert trades.commission[closed] == pytest.approx(theirs.Commission.to_numpy(), rel=1e-9, abs=1e-9)
    still_open = (
        stats._strategy.trades
    )  # backtesting.py leaves these out of its trades (finalize_trades=False)
    assert [(t.entry_bar, t.size, t.entry_price) for t in still_open] == [
        (int(bar), size, price)
        for bar, size, price in zip(
            trades.entry_bar[~closed], trades.size[~closed], trades.entry_price[~closed], strict=True
        )
    ]
    assert ours.equity == pytest.approx(stats._equity_curve.Equity.to_numpy(), rel=1e-12)


@pytest.mark.parametrize(
    ("strategy", "options"),
    [(SmaCross, {}), (ExclusiveSmaCross, {"exclusive_orders": True})],
    ids=["quick-start", "readme-exclusive-orders"],
)
def test_sma_cross_trade_for_trade(strategy: type, options: dict[str, Any]) -> None:
    stats = run_backtesting_py(strategy, commission=COMMISSION, **options)
    ours = run_ours(sma_cross_signals(), mode="backtesting.py")
    assert len(stats._trades) > 60  # the example trades about every month over 8.5 years
    assert_same_trades(stats, ours)
    assert ours.equity[-1] == pytest.approx(stats["Equity Final [$]"], rel=1e-4)


def random_signals(seed: int) -> tuple[Signals, float, float]:
    """Entries, exits, stops and sizes at random over GOOG's bars; a spread and a commission."""
    rng = np.random.default_rng(seed)
    n = len(GOOG)

    def flags(rate: float) -> np.ndarray:
        return rng.random(n) < rate

    def percents(low: float, high: float, missing: float) -> np.ndarray:
        values = rng.uniform(low, high, n)
        values[rng.random(n) < missing] = np.nan
        return values

    in_units = seed % 2 == 1
    size = rng.uniform(0.5, 40, n) if in_units else np.where(flags(0.5), np.nan, rng.uniform(0.05, 1.2, n))
    signals = Signals(
        long_entry=flags(0.05),
        long_exit=flags(0.03),
        short_entry=flags(0.05),
        short_exit=flags(0.03),
        stop_loss=percents(1, 8, 0.5),
        take_profit=percents(2, 15, 0.5),
        trailing_stop=percents(1, 10, 0.7),
        size=size,
        size_in_units=in_units,
        series={},
    )
    return signals, [0.0, 0.001][seed % 3 == 0], [0.0, 0.002][seed % 4 != 2]


@pytest.mark.parametrize("seed", range(6))
def test_stops_sizes_and_costs_trade_for_trade(seed: int) -> None:
    signals, spread, commission = random_signals(seed)
    FromSignals.signals = signals
    stats = run_backtesting_py(FromSignals, commission=commission, spread=spread)
    ours = run_ours(signals, mode="backtesting.py", commission=commission, slippage=spread)
    assert_same_trades(stats, ours)
    reasons = set(ours.trades.reasons())
    assert {"stop_loss", "take_profit", "trailing_stop", "reverse", "signal"} <= reasons


def test_running_out_of_money_trade_for_trade() -> None:
    # short 40 shares from the second bar and never cover: GOOG's climb from 100 past 350 eats the cash
    n = len(GOOG)
    none, nan = np.zeros(n, dtype=np.bool_), np.full(n, np.nan)
    short_once = none.copy()
    short_once[1] = True
    signals = Signals(none, none, short_once, none, nan, nan, nan, np.full(n, 40.0), True, {})
    FromSignals.signals = signals
    stats = run_backtesting_py(FromSignals, commission=COMMISSION)
    ours = run_ours(signals, mode="backtesting.py")
    assert ours.trades.reasons() == ["end"]
    ruin = int(ours.trades.exit_bar[0])
    assert 0 < ruin < n - 1
    assert ours.equity[ruin:].tolist() == [0.0] * (n - ruin)
    assert ours.equity == pytest.approx(stats._equity_curve.Equity.to_numpy(), rel=1e-12)
    assert_same_trades(stats, ours)


def test_default_mode_on_the_sma_cross_differs_as_its_conventions_say() -> None:
    signals = sma_cross_signals()
    library = run_ours(signals, mode="backtesting.py")
    ours = run_ours(signals, mode="default")
    opens = GOOG.Open.to_numpy(dtype=np.float64)
    # the same trades in time, filled at the same opens (no spread, no slippage)
    assert ours.trades.entry_bar.tolist() == library.trades.entry_bar.tolist()
    assert ours.trades.exit_bar.tolist() == library.trades.exit_bar.tolist()
    assert ours.trades.entry_price.tolist() == opens[ours.trades.entry_bar].tolist()
    # sizes: all the equity in fractional units, where backtesting.py buys whole ones
    # (each entry is flat at its fill, after any reversal's exit: its equity is the cash plus the pnl so far)
    sizes = np.abs(ours.trades.size)
    equity_at_fill = CASH + np.concatenate([[0.0], np.cumsum(ours.trades.pnl)[:-1]])
    fills = opens[ours.trades.entry_bar]
    assert sizes == pytest.approx(equity_at_fill / (fills * (1 + COMMISSION)), rel=1e-9)
    assert abs(library.trades.size[0]) == math.floor(sizes[0])  # the first entry: the same money
    assert np.all(sizes != np.round(sizes))
    # The final equities differ by exactly the cash whole units leave idle: trade k returns r_k of
    # the equity fully invested, and (1 − idle_k) × r_k with backtesting.py's whole units, idle_k
    # being the share of its equity left in cash at that entry (1% on average here, 3.3% at most).
    library_equity_at_fill = CASH + np.concatenate([[0.0], np.cumsum(library.trades.pnl)[:-1]])
    invested = np.abs(library.trades.size) * fills * (1 + COMMISSION) / library_equity_at_fill
    returns = ours.trades.pnl / equity_at_fill
    predicted = np.prod(1 + returns) / np.prod(1 + invested * returns)
    assert ours.equity[-1] / library.equity[-1] == pytest.approx(predicted, rel=1e-9)
    assert 1.02 < predicted < 1.03  # fully invested, this profitable strategy ends 2.7% ahead
