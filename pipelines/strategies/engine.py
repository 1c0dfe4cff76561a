"""The backtest simulation: a strategy's ``Signals`` over bars → fills, trades and an equity curve.

One compiled pass (numba) over contiguous arrays; :func:`simulate` builds the inputs and wraps the
answer in :class:`Simulation`. Two sets of conventions:

**default**

- Signals are read at bar *i*'s close and act at bar *i+1*'s open; a signal on the last bar does nothing.
- Rules of one bar: an entry and an exit of the same side cancel to the exit (``long_entry`` with
  ``long_exit`` is no long entry); a long and a short entry left together are ambiguous: neither.
  Flat: a long entry opens a long, a short entry a short. Long: a short entry reverses (the long
  closes and a short opens at the same open; exit reason ``reverse``), else ``long_exit`` closes
  (``signal``). Short: symmetric. An entry of the side already held does nothing.
- Fills: buys at open × (1 + slippage), sells at open × (1 − slippage); commission = rate × |units ×
  fill| on every fill, paid from cash.
- Size (read at the entry signal's bar): a fraction *f* in (0, 1] of the equity at the fill (the cash,
  as every entry fills flat): units = f × equity / (fill × (1 + commission)), fractional; with
  ``size_in_units`` that many units (no cash check). NaN: *f* = 1; a fraction above 1 counts as 1;
  zero or less: no entry.
- Stops (percents read at the entry signal's bar, NaN or ≤ 0 = none) are live from the entry bar on,
  as the entry fills at its open: stop-loss at fill × (1 − p/100) for a long (× (1 + p/100) for a
  short), take-profit at fill × (1 + p/100) (short: 1 − p/100), trailing stop p% below the highest
  high since entry up to the bar before (the fill on the entry bar; a short: above the lowest low).
  A level the open is already beyond exits at the open (with that level's reason: the open comes
  first); otherwise a stop (the stop-loss or trailing level nearer the price, the stop-loss on a tie)
  before the take-profit when one bar's range reaches both (conservative), at the level. Stop exits
  pay slippage and commission too.
- A trade still open at the last bar is valued at its close: ``exit_bar`` −1, ``exit_price`` the last
  close, ``pnl`` net of the entry's commission only, exit reason ``end``.
- Equity at or below zero at a close (a short or unit-sized position can get there) ends the
  simulation, as in backtesting.py: the position is closed at that close (with slippage and
  commission; exit reason ``end``, ``exit_bar`` that bar) and equity is 0 from there on.

**backtesting.py** (that library's 0.6.6 broker, ``Backtest(data, S, cash=…, commission=…,
spread=slippage)`` with defaults otherwise, and a strategy whose ``next()`` does what the signals say
with ``position.close()`` then ``buy()``/``sell()``), so its SmaCross example matches trade for trade:

- The strategy's ``next()`` first runs at bar 1 (``Backtest.run`` starts at ``1 + warm-up``), so a
  signal on bar 0 does nothing. (Its indicator warm-up skip is not replicated: signals are false
  there anyway while an indicator is NaN.)
- Market orders fill at the next open; a close order is queued first, so a reversal closes at the
  open, then sizes the new trade from the cash it left.
- ``slippage`` is the library's ``spread``: entries fill at open × (1 ± spread), exits at the raw
  price (stop, limit or open).
- Fraction sizing: whole units, ``int(cash × f // (price × (1 + spread) + price × commission))``
  with *f* = ``1 − ε`` (``buy()``'s default ``size=.9999``) when the size is NaN or ≥ 1; no unit:
  no trade. ``units(n)`` buys ``floor(n)`` whole units (none below 1); the order is cancelled (no
  trade) when they cost more than the cash (each at the fill plus its commission).
- Commission ``rate × |units| × price`` at the entry (entry price including spread) and again at the
  exit; a trade's ``pnl`` is net of both; ``return_pct`` is the library's ``pl_pct``.
- Stop-loss and take-profit are the ``buy(sl=, tp=)`` levels from the signal bar's close
  (close × (1 ∓ p/100)), live from the entry bar (the library reprocesses a market order's
  contingent orders in its fill bar). The stop-loss order is processed first: hit when the low
  reaches it, filled at min(open, level) for a long; the take-profit at max(open, level). A
  take-profit the library would refuse (not beyond the spread-adjusted close) is left out.
- Trailing stop as ``backtesting.lib.TrailingStrategy`` does it (in percent rather than ATRs): after
  each bar, from the entry bar on, ``trade.sl = max(trade.sl, close × (1 − p/100))`` (short: min, ×
  (1 + p/100)), effective from the next bar; an exit at that stop is ``trailing_stop``.
- The open trade at the end is not closed (``finalize_trades=False``): equity marks it at the last
  close without an exit commission; it is reported as in the default mode.
- Equity at or below zero after a bar: every trade closed at that bar's close, equity 0 from there
  on, the run stops (``_OutOfMoneyError``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal, TypeVar

import numpy as np
from numpy.typing import NDArray

from pipelines.strategies.signals import Signals

ExitReason = Literal["signal", "stop_loss", "take_profit", "trailing_stop", "reverse", "end"]
EngineMode = Literal["default", "backtesting.py"]

EXIT_REASONS: Final[tuple[ExitReason, ...]] = (
    "signal",
    "stop_loss",
    "take_profit",
    "trailing_stop",
    "reverse",
    "end",
)
"""Exit reasons by code (:attr:`TradeArrays.exit_reason` holds the index)."""

_Item = TypeVar("_Item", bound=np.generic)


@dataclass(frozen=True, slots=True)
class TradeArrays:
    """The trades of a simulation, one element each, in the order they were closed (an open one last)."""

    entry_bar: NDArray[np.int64]
    exit_bar: NDArray[np.int64]
    """−1: still open at the last bar."""
    entry_price: NDArray[np.float64]
    exit_price: NDArray[np.float64]
    """The fill; the last close for a trade still open."""
    size: NDArray[np.float64]
    """Units, negative for a short."""
    pnl: NDArray[np.float64]
    """Net of commission and slippage."""
    return_pct: NDArray[np.float64]
    """``pnl`` over the entry value (|size| × entry price), in percent."""
    exit_reason: NDArray[np.int8]
    """Index into :data:`EXIT_REASONS`."""
    commission: NDArray[np.float64]
    """Commission paid on the trade's fills."""

    def __len__(self) -> int:
        return int(self.entry_bar.shape[0])

    def reasons(self) -> list[ExitReason]:
        """Every trade's exit reason by name."""
        return [EXIT_REASONS[code] for code in self.exit_reason.tolist()]


@dataclass(frozen=True, slots=True)
class Simulation:
    """Where a backtest's money was at every bar, and the trades that moved it."""

    equity: NDArray[np.float64]
    """Per bar: cash plus the position marked at the close."""
    position: NDArray[np.float64]
    """Units held at each bar's close (negative short)."""
    trades: TradeArrays


def simulate(
    ts: NDArray[np.int64],
    open: NDArray[np.float64],
    high: NDArray[np.float64],
    low: NDArray[np.float64],
    close: NDArray[np.float64],
    signals: Signals,
    *,
    cash: float,
    commission: float = 0.0,
    slippage: float = 0.0,
    mode: EngineMode = "default",
) -> Simulation:
    """Run ``signals`` over the bars under ``mode``'s conventions (see the module docstring).

    ``commission`` and ``slippage`` are fractions (0.001 = 0.1%) of each fill's value and price.
    """
    n = int(np.shape(ts)[0])
    rules = (signals.long_entry, signals.long_exit, signals.short_entry, signals.short_exit)
    levels = (signals.stop_loss, signals.take_profit, signals.trailing_stop, signals.size)
    if any(int(np.shape(column)[0]) != n for column in (open, high, low, close, *rules, *levels)):
        raise ValueError("bars and signals must all have the same length")
    if not (math.isfinite(cash) and cash > 0):
        raise ValueError(f"cash must be positive, not {cash}")
    if not (0 <= commission < 1 and 0 <= slippage < 1):
        raise ValueError("commission and slippage must be fractions in [0, 1)")
    from pipelines.strategies.kernel import simulate_bars  # numba loads with the first backtest

    (equity, position, *trades, count) = simulate_bars(
        _floats(open),
        _floats(high),
        _floats(low),
        _floats(close),
        _flags(signals.long_entry),
        _flags(signals.long_exit),
        _flags(signals.short_entry),
        _flags(signals.short_exit),
        _floats(signals.stop_loss),
        _floats(signals.take_profit),
        _floats(signals.trailing_stop),
        _floats(signals.size),
        bool(signals.size_in_units),
        float(cash),
        float(commission),
        float(slippage),
        mode == "backtesting.py",
    )
    entry_bar, exit_bar, entry_price, exit_price, size, pnl, return_pct, reason, paid = (
        column[:count].copy() for column in trades
    )
    return Simulation(
        equity=equity,
        position=position,
        trades=TradeArrays(
            entry_bar=entry_bar,
            exit_bar=exit_bar,
            entry_price=entry_price,
            exit_price=exit_price,
            size=size,
            pnl=pnl,
            return_pct=return_pct,
            exit_reason=reason,
            commission=paid,
        ),
    )


def _floats(values: NDArray[np.float64]) -> NDArray[np.float64]:
    return _read_only(np.ascontiguousarray(values, dtype=np.float64))


def _flags(values: NDArray[np.bool_]) -> NDArray[np.bool_]:
    return _read_only(np.ascontiguousarray(values, dtype=np.bool_))


def _read_only(values: NDArray[_Item]) -> NDArray[_Item]:
    """A read-only view: numba compiles (and caches) one variant per array type, writability included."""
    view = values.view()
    view.flags.writeable = False
    return view


def warm_up() -> None:
    """Load (or compile) the simulation once, so a process's first backtest does not pay for it (~1 s)."""
    bars = np.array([1.0, 1.0, 1.0])
    flags = np.array([True, False, False])
    nothing = np.full(3, np.nan)
    signals = Signals(
        long_entry=flags,
        long_exit=~flags,
        short_entry=~flags,
        short_exit=~flags,
        stop_loss=nothing,
        take_profit=nothing,
        trailing_stop=nothing,
        size=nothing,
        size_in_units=False,
        series={},
    )
    from pipelines.strategies.kernel import equity_stats

    for mode in ("default", "backtesting.py"):
        simulate(np.arange(3, dtype=np.int64), bars, bars, bars, bars, signals, cash=1.0, mode=mode)
    equity_stats(bars)
