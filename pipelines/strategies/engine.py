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
import sys
from dataclasses import dataclass
from typing import Final, Literal, TypeVar

import numpy as np
from numba import njit
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

_SIGNAL, _STOP_LOSS, _TAKE_PROFIT, _TRAILING_STOP, _REVERSE, _END = range(6)
_NONE, _LONG, _SHORT, _CLOSE = 0, 1, -1, 2
_Item = TypeVar("_Item", bound=np.generic)
_FULL_EQUITY: Final = 1 - sys.float_info.epsilon
"""backtesting.py's default order size: all the equity (its ``.9999``)."""


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
    (equity, position, *trades, count) = _simulate(
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


@njit(cache=True)
def _simulate(  # type: ignore[no-untyped-def]
    open_,
    high,
    low,
    close,
    long_entry,
    long_exit,
    short_entry,
    short_exit,
    stop_loss,
    take_profit,
    trailing_stop,
    size,
    size_in_units,
    cash,
    rate,
    slippage,
    backtesting_py,
):
    """The simulation loop; both modes (``backtesting_py``), the conventions of the module docstring."""
    n = close.shape[0]
    equity = np.empty(n)
    position = np.empty(n)
    capacity = max(n, 1)  # at most one entry per bar
    t_entry_bar = np.empty(capacity, np.int64)
    t_exit_bar = np.empty(capacity, np.int64)
    t_entry_price = np.empty(capacity)
    t_exit_price = np.empty(capacity)
    t_size = np.empty(capacity)
    t_pnl = np.empty(capacity)
    t_return = np.empty(capacity)
    t_reason = np.empty(capacity, np.int8)
    t_commission = np.empty(capacity)
    count = 0

    units = 0.0  # signed; 0 = flat
    entry_price = 0.0
    entry_bar = -1
    entry_commission = 0.0
    stop = np.nan  # the stop order's level (default mode: the fixed stop-loss only)
    stop_trails = False  # backtesting.py: the stop order was last moved by the trailing stop
    target = np.nan
    trail = np.nan  # trailing percent
    extreme = np.nan  # default mode: highest high (lowest low) since entry, up to the bar before
    pending = _NONE
    signal_bar = -1
    ruined = False
    first_signal_bar = 1 if backtesting_py else 0

    for i in range(n):
        o = open_[i]
        exit_price = np.nan
        reason = _SIGNAL
        if pending != _NONE:
            # A market exit at the open: a close, or the first half of a reversal.
            if units != 0.0 and (pending == _CLOSE or pending * units < 0):
                exit_price = o
                if not backtesting_py:
                    exit_price = o * (1.0 - slippage) if units > 0 else o * (1.0 + slippage)
                reason = _SIGNAL if pending == _CLOSE else _REVERSE
        if not np.isnan(exit_price):
            cash, count = _book(
                t_entry_bar, t_exit_bar, t_entry_price, t_exit_price, t_size, t_pnl, t_return, t_reason,
                t_commission, count, entry_bar, i, entry_price, exit_price, units, entry_commission,
                reason, cash, rate,
            )  # fmt: skip
            units = 0.0
        if pending == _LONG or pending == _SHORT:
            direction = float(pending)
            want = size[signal_bar]
            if backtesting_py:
                fill = o * (1.0 + direction * slippage)
                if size_in_units and np.isfinite(want):
                    order = np.floor(want)
                    fraction = False
                else:
                    order = _FULL_EQUITY if not np.isfinite(want) or want >= 1.0 else want
                    fraction = True
                amount = 0.0
                if order > 0.0:
                    per_unit = fill + (order * o * rate) / order
                    margin = cash if cash > 0.0 else 0.0
                    amount = float(int((margin * 1.0 * order) // per_unit)) if fraction else order
                    if amount * per_unit > margin:
                        amount = 0.0
            else:
                fill = o * (1.0 + direction * slippage)
                if size_in_units and np.isfinite(want):
                    amount = want
                else:
                    share = 1.0 if not np.isfinite(want) else min(want, 1.0)
                    amount = share * cash / (fill * (1.0 + rate)) if cash > 0.0 else 0.0
            if amount > 0.0:
                units = direction * amount
                entry_price = fill
                entry_bar = i
                entry_commission = amount * fill * rate
                cash -= entry_commission
                reference = close[signal_bar] if backtesting_py else fill
                stop = _level(reference, -direction, stop_loss[signal_bar])
                target = _level(reference, direction, take_profit[signal_bar])
                if backtesting_py and not np.isnan(target):
                    quoted = close[signal_bar] * (1.0 + direction * slippage)
                    if (target - quoted) * direction <= 0.0:
                        target = np.nan  # the library refuses such an order
                stop_trails = False
                trail = trailing_stop[signal_bar]
                if not (np.isfinite(trail) and trail > 0.0) or (direction > 0 and trail >= 100.0):
                    trail = np.nan
                extreme = fill
        pending = _NONE

        if units != 0.0 and not (np.isnan(stop) and np.isnan(target) and np.isnan(trail)):
            exit_price, reason = _stop_exit(
                units > 0, o, high[i], low[i], stop, stop_trails, target, trail, extreme, backtesting_py
            )
            if not np.isnan(exit_price):
                if not backtesting_py:
                    exit_price = exit_price * (1.0 - slippage) if units > 0 else exit_price * (1.0 + slippage)
                cash, count = _book(
                    t_entry_bar, t_exit_bar, t_entry_price, t_exit_price, t_size, t_pnl, t_return, t_reason,
                    t_commission, count, entry_bar, i, entry_price, exit_price, units, entry_commission,
                    reason, cash, rate,
                )  # fmt: skip
                units = 0.0

        c = close[i]
        value = cash + (c * units - units * entry_price) if units != 0.0 else cash
        if value <= 0.0:
            if units != 0.0:
                exit_price = c
                if not backtesting_py:
                    exit_price = c * (1.0 - slippage) if units > 0 else c * (1.0 + slippage)
                cash, count = _book(
                    t_entry_bar, t_exit_bar, t_entry_price, t_exit_price, t_size, t_pnl, t_return, t_reason,
                    t_commission, count, entry_bar, i, entry_price, exit_price, units, entry_commission,
                    _END, cash, rate,
                )  # fmt: skip
                units = 0.0
            equity[i:] = 0.0
            position[i:] = 0.0
            ruined = True
            break
        equity[i] = value
        position[i] = units

        if units != 0.0 and not np.isnan(trail):
            if backtesting_py:
                moved = c * (1.0 - trail / 100.0) if units > 0 else c * (1.0 + trail / 100.0)
                if np.isnan(stop) or (moved > stop if units > 0 else moved < stop):
                    stop = moved
                    stop_trails = True
            else:
                extreme = max(extreme, high[i]) if units > 0 else min(extreme, low[i])

        any_signal = long_entry[i] or long_exit[i] or short_entry[i] or short_exit[i]
        if any_signal and first_signal_bar <= i < n - 1:
            go_long = long_entry[i] and not long_exit[i]
            go_short = short_entry[i] and not short_exit[i]
            if go_long and go_short:
                go_long = go_short = False
            if units == 0.0:
                pending = _LONG if go_long else _SHORT if go_short else _NONE
            elif units > 0:
                pending = _SHORT if go_short else _CLOSE if long_exit[i] else _NONE
            else:
                pending = _LONG if go_long else _CLOSE if short_exit[i] else _NONE
            signal_bar = i

    if units != 0.0 and not ruined:
        c = close[n - 1]
        t_entry_bar[count] = entry_bar
        t_exit_bar[count] = -1
        t_entry_price[count] = entry_price
        t_exit_price[count] = c
        t_size[count] = units
        t_pnl[count] = units * (c - entry_price) - entry_commission
        t_return[count] = _return_pct(units, entry_price, c, entry_commission)
        t_reason[count] = _END
        t_commission[count] = entry_commission
        count += 1

    return (
        equity, position, t_entry_bar, t_exit_bar, t_entry_price, t_exit_price, t_size, t_pnl, t_return,
        t_reason, t_commission, count,
    )  # fmt: skip


@njit(cache=True, inline="always")
def _level(reference, side, percent):  # type: ignore[no-untyped-def]
    """``reference`` moved ``percent`` % up (``side`` +1) or down (−1); NaN for no percent or a level ≤ 0."""
    if not (np.isfinite(percent) and percent > 0.0):
        return np.nan
    level = reference * (1.0 + side * percent / 100.0)
    return level if level > 0.0 else np.nan


@njit(cache=True, inline="always")
def _stop_exit(is_long, o, h, low, stop, stop_trails, target, trail, extreme, backtesting_py):  # type: ignore[no-untyped-def]
    """The price and reason of a stop or target exit within a bar, NaN price for none."""
    if backtesting_py:
        # The stop-loss order sits first in the library's queue; a stop fills at it or at a worse open.
        if not np.isnan(stop) and (low <= stop if is_long else h >= stop):
            return (min(o, stop) if is_long else max(o, stop)), (
                _TRAILING_STOP if stop_trails else _STOP_LOSS
            )
        if not np.isnan(target) and (h >= target if is_long else low <= target):
            return (max(o, target) if is_long else min(o, target)), _TAKE_PROFIT
        return np.nan, _SIGNAL
    level = stop
    reason = _STOP_LOSS
    if not np.isnan(trail):
        trailing = extreme * (1.0 - trail / 100.0) if is_long else extreme * (1.0 + trail / 100.0)
        if np.isnan(level) or (trailing > level if is_long else trailing < level):
            level = trailing
            reason = _TRAILING_STOP
    stopped = not np.isnan(level)
    targeted = not np.isnan(target)
    if is_long:
        if stopped and o <= level:
            return o, reason
        if targeted and o >= target:
            return o, _TAKE_PROFIT
        if stopped and low <= level:
            return level, reason
        if targeted and h >= target:
            return target, _TAKE_PROFIT
    else:
        if stopped and o >= level:
            return o, reason
        if targeted and o <= target:
            return o, _TAKE_PROFIT
        if stopped and h >= level:
            return level, reason
        if targeted and low <= target:
            return target, _TAKE_PROFIT
    return np.nan, _SIGNAL


@njit(cache=True, inline="always")
def _return_pct(units, entry_price, exit_price, paid):  # type: ignore[no-untyped-def]
    """backtesting.py's ``Trade.pl_pct`` × 100: the move in the trade's favour less commission per value."""
    side = 1.0 if units > 0 else -1.0
    return (side * (exit_price / entry_price - 1.0) - paid / (abs(units) * entry_price)) * 100.0


@njit(cache=True, inline="always")
def _book(  # type: ignore[no-untyped-def]
    t_entry_bar, t_exit_bar, t_entry_price, t_exit_price, t_size, t_pnl, t_return, t_reason, t_commission,
    count, entry_bar, exit_bar, entry_price, exit_price, units, entry_commission, reason, cash, rate,
):  # fmt: skip
    """Close the trade at ``exit_price``: record it, and the cash after its gain and exit commission."""
    exit_commission = abs(units) * exit_price * rate
    gain = units * (exit_price - entry_price)
    paid = exit_commission + entry_commission
    t_entry_bar[count] = entry_bar
    t_exit_bar[count] = exit_bar
    t_entry_price[count] = entry_price
    t_exit_price[count] = exit_price
    t_size[count] = units
    t_pnl[count] = gain - paid
    t_return[count] = _return_pct(units, entry_price, exit_price, paid)
    t_reason[count] = reason
    t_commission[count] = paid
    return cash + (gain - exit_commission), count + 1
