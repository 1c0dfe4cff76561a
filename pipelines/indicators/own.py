"""Our own indicators, where TA-Lib has none: VWAPs, returns, rolling z-score, realised volatility.

Each is an :class:`OwnIndicator` in :data:`OWN`, by an upper-case name that is no TA-Lib function's
(TA-Lib's own ``VWAP`` runs from the first bar, without sessions, and its ``RVOL`` is relative
volume: ours are ``SVWAP`` and ``REALVOL``).

They compute over a series' bucket arrays (:class:`OwnInputs`) with vectorised NumPy, one float64
array per output with NaN where there is no value. Sums are never differences of running totals,
which would lose a small session's or window's digits to the rest of the series: sessions are
summed from their own start, as a loop would, and rolling deviations are taken from a value
inside each window.

Sessions are New York trading days (the New York calendar date of each bucket start); rolling
volatility is annualised by :func:`bars_per_year` of the series' bucket width and session.

>>> sorted(OWN)
['AVWAP', 'LOGRET', 'REALVOL', 'RET', 'SVWAP', 'ZSCORE']
>>> bars_per_year("5m", "regular")
19656.0
>>> OWN["ZSCORE"].lookback({"timeperiod": 20})
19
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import msgspec
import numpy as np

from schemas.indicators import IndicatorParameter
from schemas.values import NEW_YORK

Floats = np.ndarray[Any, np.dtype[np.float64]]
Ints = np.ndarray[Any, np.dtype[np.int64]]
ParamValue = int | float | dt.date
Params = Mapping[str, ParamValue]

DAY_MS: Final = 86_400_000
TRADING_DAYS: Final = 252
"""Trading days a year: the annualisation of daily and intraday volatility."""
SESSION_MINUTES: Final[Mapping[str, int]] = types.MappingProxyType({"regular": 390, "extended": 960})
"""Minutes of a trading day per session: 09:30–16:00 and 04:00–20:00 New York."""
DEFAULT_PERIOD: Final = 20
"""Window of the rolling indicators (ZSCORE, REALVOL) when not given."""
MAX_PERIOD: Final = 100_000

_WIDTH: Final = re.compile(r"([1-9][0-9]*)([mhdwM])")
_PER_YEAR: Final[Mapping[str, float]] = types.MappingProxyType({"d": 252.0, "w": 52.0, "M": 12.0})
_EPOCH: Final = dt.datetime(1970, 1, 1)
_ROW_LOOP: Final = 2048
"""Most rows :func:`_accumulate` adds one by one rather than by ``np.cumsum``."""


class OwnContext(msgspec.Struct, frozen=True, kw_only=True):
    """What an indicator knows of the series besides its arrays."""

    width: str
    """Bucket width code of the series (``1m``, ``1h``, ``1d``, ``3M`` …)."""
    session: str
    """``regular`` or ``extended``."""


class OwnInputs(msgspec.Struct, frozen=True, kw_only=True):
    """A series' buckets: 1-D contiguous arrays of one length."""

    ts: Ints
    """Bucket starts, epoch milliseconds UTC, ascending."""
    open: Floats
    high: Floats
    low: Floats
    close: Floats
    volume: Floats


Compute = Callable[[OwnInputs, Params, OwnContext], list[Floats]]
Lookback = Callable[[Params], int]


@dataclass(frozen=True)
class OwnIndicator:
    """One of our indicators: its catalog description and its computation."""

    name: str
    """Upper-case name, as specs and the catalog spell it (``SVWAP``)."""
    display_name: str
    parameters: tuple[IndicatorParameter, ...]
    inputs: tuple[str, ...]
    """Bar columns it reads (``ts`` for the session-aware ones)."""
    outputs: tuple[str, ...]
    overlay: bool
    """Its outputs are prices, drawn on the price scale."""
    compute: Compute
    """One float64 array per output, as long as the inputs, NaN where there is no value."""
    lookback: Lookback
    """Bars consumed before the first value, at the given parameters."""


def bars_per_year(width: str, session: str) -> float:
    """Buckets of ``width`` in a year of ``session``: the annualisation factor of per-bar variance.

    Daily buckets 252 a year, weekly 52, monthly 12 (``3M`` 4, ``12M`` 1); intraday ones
    252 × the session's minutes (390 regular, 960 extended) / the bucket's minutes.

    >>> bars_per_year("1d", "extended"), bars_per_year("1h", "regular"), bars_per_year("3M", "regular")
    (252.0, 1638.0, 4.0)

    Raises:
        ValueError: ``width`` is no width code or ``session`` no session.
    """
    count, unit = _width(width)
    if session not in SESSION_MINUTES:
        raise ValueError(f"{session!r} is not a session (regular or extended)")
    if unit in _PER_YEAR:
        return _PER_YEAR[unit] / count
    minutes = count * (60 if unit == "h" else 1)
    return TRADING_DAYS * SESSION_MINUTES[session] / minutes


def _width(width: str) -> tuple[int, str]:
    """The count and unit of a width code: ``15m`` is (15, "m")."""
    match = _WIDTH.fullmatch(width)
    if match is None:
        raise ValueError(f"{width!r} is not a bucket width (a number and one of m, h, d, w, M)")
    return int(match[1]), match[2]


@functools.cache
def _ny_midnight(day: int) -> int:
    """UTC epoch ms of New York midnight starting ``day`` (days since 1970-01-01).

    New York's clocks change at 02:00, so its midnights are never skipped nor repeated.
    """
    offset = NEW_YORK.utcoffset(_EPOCH + dt.timedelta(days=day))
    assert offset is not None
    return day * DAY_MS - offset // dt.timedelta(milliseconds=1)


def _ny_day(ts: int) -> int:
    """New York calendar day (days since 1970-01-01) of a UTC epoch ms.

    New York is behind UTC by less than a day: its date is the UTC date, or the day before when
    the instant comes before that date's New York midnight.
    """
    day = ts // DAY_MS
    return day - 1 if ts < _ny_midnight(day) else day


def _session_starts(ts: Ints) -> Ints:
    """Index of the first bucket of each New York trading day in ``ts`` (ascending), from 0."""
    first, last = _ny_day(int(ts[0])), _ny_day(int(ts[-1]))
    midnights = np.array([_ny_midnight(day) for day in range(first + 1, last + 1)], dtype=np.int64)
    starts: Ints = np.unique(np.searchsorted(ts, midnights))
    return np.concatenate([np.zeros(1, np.int64), starts[starts < ts.shape[0]]])


def _session_cumsum(values: tuple[Floats, ...], starts: Ints) -> list[Floats]:
    """Running sums of each of ``values`` (same length), restarting at each index of ``starts``.

    ``starts`` ascends from 0. Each session is summed from its own start, in order, as a loop
    would (a difference of one running sum would lose a small session's digits to the sessions
    before it): sessions become the rows of zero-padded matrices, summed along the rows. Sessions
    are grouped by length rounded up to a power of two, one matrix each, so padding stays under
    half of the values.
    """
    n = values[0].shape[0]
    lengths = np.diff(starts, append=n)
    classes = np.frexp((lengths - 1).astype(np.float64))[1]  # ceil(log2(length))
    order = np.argsort(classes, kind="stable")
    firsts = np.flatnonzero(np.diff(classes[order], prepend=-1))
    counts = np.diff(firsts, append=order.shape[0])
    widths = np.maximum.reduceat(lengths[order], firsts)
    sizes = counts * widths
    bases = np.cumsum(sizes) - sizes
    # Where each session's first value goes: its class's matrix, at the row of its rank in the class.
    group = np.repeat(np.arange(firsts.shape[0]), counts)
    rank = np.arange(order.shape[0]) - firsts[group]
    row_start = np.empty_like(starts)
    row_start[order] = bases[group] + rank * widths[group]
    position = np.arange(n) + np.repeat(row_start - starts, lengths)
    layout = list(zip(bases.tolist(), counts.tolist(), widths.tolist(), strict=True))

    sums: list[Floats] = []
    for column in values:
        matrices = np.zeros(int(sizes.sum()))
        matrices[position] = column
        for base, count, width in layout:
            matrix = matrices[base : base + count * width].reshape(count, width)
            np.cumsum(matrix, axis=1, out=matrix)
        sums.append(matrices[position])
    return sums


def _accumulate(rows: Floats) -> None:
    """Running sums down the rows (axis 0), in place."""
    if rows.shape[0] > _ROW_LOOP:
        np.cumsum(rows, axis=0, out=rows)
        return
    # NumPy accumulates element by element; adding whole rows is vectorised, and far faster while
    # the rows are few and long.
    for j in range(1, rows.shape[0]):
        rows[j] += rows[j - 1]


def _rolling_moments(x: Floats, period: int) -> tuple[Floats, Floats]:
    """Rolling deviation of the last value from the mean, and sum of squared deviations from it.

    Stable and O(n) whatever the period. The series is cut into blocks of ``period``, so a window
    is a suffix of one block and a prefix of the next, and every window ending in a block holds
    that block's first value: deviations from it are summed, with their squares, forward through
    the block and backward through the block before. Each deviation is bounded by the window's
    own range, so the sum of squares loses at most a few ulps × period of the window's variance,
    whatever the price level or the rest of the series. A window of equal values gets exactly 0;
    NaN reaches only the windows holding it.

    Returns:
        Two (period, blocks) arrays, by offset in the block and block: ``[j, b]`` is the window
        ending at ``b × period + j``; :func:`_in_order` turns them back into series.
    """
    n = x.shape[0]
    blocks = -(-n // period)
    padded = np.empty(blocks * period)
    padded[:n] = x
    padded[n:] = x[-1]
    values = np.ascontiguousarray(padded.reshape(blocks, period).T)
    del padded
    ahead = values - values[0]
    # Block b - 1 backward from its last value, around block b's first (the last block has no next).
    behind = np.zeros_like(values)
    np.subtract(values[::-1, :-1], values[0, 1:], out=behind[:, :-1])
    del values

    # The window ending at [j, b]: the first j + 1 values of block b, the last period - 1 - j of b - 1.
    spread = np.square(ahead)
    _accumulate(spread)
    backward = np.square(behind)
    _accumulate(backward)
    spread[:-1, 1:] += backward[-2::-1, :-1]
    mean = ahead.copy()
    _accumulate(mean)
    _accumulate(behind)
    mean[:-1, 1:] += behind[-2::-1, :-1]

    mean /= period
    np.square(mean, out=backward)
    backward *= period
    spread -= backward
    np.maximum(spread, 0.0, out=spread)
    ahead -= mean
    return ahead, spread


def _in_order(by_window: Floats, n: int) -> Floats:
    """The first ``n`` values of a (period, blocks) array of :func:`_rolling_moments`, in series order."""
    ordered: Floats = by_window.T.ravel()[:n]
    return ordered


def _period(params: Params) -> int:
    value = params.get("timeperiod", DEFAULT_PERIOD)
    if isinstance(value, dt.date | bool) or not 2 <= value <= MAX_PERIOD or value != int(value):
        raise ValueError(f"timeperiod must be an integer from 2 to {MAX_PERIOD}, not {value!r}")
    return int(value)


def _anchor(params: Params) -> dt.date:
    value = params.get("anchor")
    if not isinstance(value, dt.date):
        raise ValueError(f"anchor must be a date (e.g. 2024-01-02), not {value!r}")
    return dt.date(value.year, value.month, value.day)


def _empty(n: int) -> Floats:
    return np.full(n, np.nan)


def _ratio(numerator: Floats, denominator: Floats) -> Floats:
    """``numerator / denominator``, NaN where the denominator is 0."""
    out = _empty(numerator.shape[0])
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _typical(bars: OwnInputs) -> Floats:
    typical: Floats = (bars.high + bars.low + bars.close) / 3.0
    return typical


def _svwap(bars: OwnInputs, params: Params, context: OwnContext) -> list[Floats]:
    """Session VWAP: Σ typical × volume / Σ volume since the New York trading day began."""
    n = bars.ts.shape[0]
    typical = _typical(bars)
    if _width(context.width)[1] not in "mh":
        out = _empty(n)
        np.copyto(out, typical, where=bars.volume != 0)
        return [out]
    if n == 0:
        return [_empty(0)]
    weighted, volume = _session_cumsum((typical * bars.volume, bars.volume), _session_starts(bars.ts))
    return [_ratio(weighted, volume)]


def _avwap(bars: OwnInputs, params: Params, context: OwnContext) -> list[Floats]:
    """Anchored VWAP: Σ typical × volume / Σ volume from the first bucket of the anchor's New York date on."""
    anchor = _anchor(params)
    out = _empty(bars.ts.shape[0])
    first = int(np.searchsorted(bars.ts, _ny_midnight((anchor - _EPOCH.date()).days)))
    volume = bars.volume[first:]
    weighted = np.cumsum(_typical(bars)[first:] * volume)
    out[first:] = _ratio(weighted, np.cumsum(volume))
    return [out]


def _ret(bars: OwnInputs, params: Params, context: OwnContext) -> list[Floats]:
    """Simple returns: close over the previous close, less 1."""
    out = _empty(bars.close.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        out[1:] = bars.close[1:] / bars.close[:-1] - 1.0
    return [out]


def _logret(bars: OwnInputs, params: Params, context: OwnContext) -> list[Floats]:
    """Log returns: the natural log of close over the previous close."""
    out = _empty(bars.close.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        out[1:] = np.log(bars.close[1:] / bars.close[:-1])
    return [out]


def _zscore(bars: OwnInputs, params: Params, context: OwnContext) -> list[Floats]:
    """Rolling z-score: (close − mean) / population std of the last ``timeperiod`` closes."""
    period = _period(params)
    close = bars.close
    out = _empty(close.shape[0])
    if close.shape[0] >= period:
        deviation, spread = _rolling_moments(close, period)
        spread /= period
        std = np.sqrt(spread, out=spread)
        np.divide(deviation, std, out=deviation, where=std > 0)
        deviation[~(std > 0)] = np.nan
        out[period - 1 :] = _in_order(deviation, close.shape[0])[period - 1 :]
    return [out]


def _realvol(bars: OwnInputs, params: Params, context: OwnContext) -> list[Floats]:
    """Realised volatility: sample std of the last ``timeperiod`` log returns, annualised."""
    period = _period(params)
    scale = math.sqrt(bars_per_year(context.width, context.session))
    close = bars.close
    out = _empty(close.shape[0])
    if close.shape[0] > period:
        with np.errstate(divide="ignore", invalid="ignore"):
            returns: Floats = np.log(close[1:] / close[:-1])
        _, spread = _rolling_moments(returns, period)
        spread /= period - 1
        np.sqrt(spread, out=spread)
        spread *= scale
        out[period:] = _in_order(spread, returns.shape[0])[period - 1 :]
    return [out]


def _period_parameter(help: str) -> IndicatorParameter:
    return IndicatorParameter(
        name="timeperiod",
        display_name="Period",
        type="integer",
        default=DEFAULT_PERIOD,
        minimum=2,
        maximum=MAX_PERIOD,
        help=help,
    )


_PRICES: Final = ("ts", "high", "low", "close", "volume")

OWN: Final[Mapping[str, OwnIndicator]] = types.MappingProxyType(
    {
        indicator.name: indicator
        for indicator in (
            OwnIndicator(
                name="SVWAP",
                display_name="Session VWAP",
                parameters=(),
                inputs=_PRICES,
                outputs=("real",),
                overlay=True,
                compute=_svwap,
                lookback=lambda params: 0,
            ),
            OwnIndicator(
                name="AVWAP",
                display_name="Anchored VWAP",
                parameters=(
                    IndicatorParameter(
                        name="anchor",
                        display_name="Anchor",
                        type="date",
                        default=None,
                        help="New York trading day the sums start on (ISO date, e.g. 2024-01-02).",
                    ),
                ),
                inputs=_PRICES,
                outputs=("real",),
                overlay=True,
                compute=_avwap,
                lookback=lambda params: 0,
            ),
            OwnIndicator(
                name="RET",
                display_name="Simple Returns",
                parameters=(),
                inputs=("close",),
                outputs=("real",),
                overlay=False,
                compute=_ret,
                lookback=lambda params: 1,
            ),
            OwnIndicator(
                name="LOGRET",
                display_name="Log Returns",
                parameters=(),
                inputs=("close",),
                outputs=("real",),
                overlay=False,
                compute=_logret,
                lookback=lambda params: 1,
            ),
            OwnIndicator(
                name="ZSCORE",
                display_name="Rolling Z-Score",
                parameters=(_period_parameter("Closes in the window, the current one included."),),
                inputs=("close",),
                outputs=("real",),
                overlay=False,
                compute=_zscore,
                lookback=lambda params: _period(params) - 1,
            ),
            OwnIndicator(
                name="REALVOL",
                display_name="Realised Volatility (annualised)",
                parameters=(_period_parameter("Log returns in the window."),),
                inputs=("close",),
                outputs=("real",),
                overlay=False,
                compute=_realvol,
                lookback=_period,
            ),
        )
    }
)
"""Our indicators by name."""
