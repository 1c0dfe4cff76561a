"""The compiled simulation loop of :mod:`pipelines.strategies.engine` (numba, cached on disk).

Kept apart so that importing the engine (every API process does) does not import numba: the
first backtest of a process loads it (the worker does so at start-up, see ``engine.warm_up``).
"""

from __future__ import annotations

import math
import sys
from typing import Final

import numpy as np
from numba import njit

_SIGNAL, _STOP_LOSS, _TAKE_PROFIT, _TRAILING_STOP, _REVERSE, _END = range(6)
_NONE, _LONG, _SHORT, _CLOSE = 0, 1, -1, 2
_FULL_EQUITY: Final = 1 - sys.float_info.epsilon
"""backtesting.py's default order size: all the equity (its ``.9999``)."""


@njit(cache=True, nogil=True)
def simulate_bars(  # type: ignore[no-untyped-def]
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


@njit(cache=True, nogil=True)
def equity_stats(equity):  # type: ignore[no-untyped-def]
    """An equity curve's drawdown and return statistics, in two compiled passes.

    The deepest drawdown (a fraction, ≤ 0), the longest stretch from a peak to its recovery (bars;
    to the end when still under water), and the mean, standard deviation (population) and downside
    deviation of the per-bar returns (0 where the bar before was not above 0).
    """
    n = equity.shape[0]
    peak = equity[0]
    peak_at = 0
    deepest = 0.0
    longest = 0
    total = 0.0
    returns = np.empty(n)
    returns[0] = 0.0
    for i in range(n):
        value = equity[i]
        if value >= peak:
            if i - peak_at > longest and i - peak_at > 1:
                longest = i - peak_at
            peak = value
            peak_at = i
        elif peak > 0.0:
            drawdown = value / peak - 1.0
            if drawdown < deepest:
                deepest = drawdown
        if i > 0:
            before = equity[i - 1]
            returns[i] = value / before - 1.0 if before > 0.0 else 0.0
            total += returns[i]
    if equity[n - 1] < peak and n - 1 - peak_at > longest:
        longest = n - 1 - peak_at
    count = n - 1
    mean = total / count if count > 0 else 0.0
    squares = 0.0
    downside = 0.0
    for i in range(1, n):
        r = returns[i]
        squares += (r - mean) * (r - mean)
        if r < 0.0:
            downside += r * r
    std = math.sqrt(squares / count) if count > 0 else 0.0
    down = math.sqrt(downside / count) if count > 0 else 0.0
    return deepest, longest, mean, std, down
