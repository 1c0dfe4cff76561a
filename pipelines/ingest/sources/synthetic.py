"""Deterministic synthetic bars: demo data that is never market data.

Every value is a pure function of ``(symbol, trading day, minute)``: a counter-based hash
(SplitMix64, seeded by ``zlib.crc32`` of the symbol) stands in for a random generator, so a
day's bars are identical whichever range asked for them, in every process, on every run.

The model:

* a daily geometric random walk from :data:`EPOCH` (2000-01-03): a per-symbol start price
  between ~$10 and ~$500, ~1.5-2.5 % daily volatility, slight drift, split into an overnight
  gap and an intraday move;
* minute bars over the 04:00-20:00 New York session (pre-market 04:00-09:30, regular
  09:30-16:00, after-hours 16:00-20:00) on NYSE trading days: a Brownian bridge from the day's
  open to its close, a U-shaped volume "smile", and, as on Polygon, no bar for a minute without
  trades (common in extended hours, rare in the regular session). The 04:00 and 19:59 minutes
  always trade, so a day's open and close are those of the daily walk;
* every wider bar aggregates these minutes, so a day bar is exactly its minutes' aggregate.

``adjusted`` changes nothing: synthetic symbols never split or pay dividends. There are no
``second`` bars and no history before :data:`EPOCH`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from pipelines.errors import UnsupportedRequest
from pipelines.exchange_calendar import (
    DAY_MS,
    bucket_starts,
    is_member,
    next_bucket_start,
    ny_midnight_ms,
    trading_days,
)
from schemas.bars import BAR_ARROW_SCHEMA, SeriesKey
from schemas.values import NEW_YORK

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from pipelines.ingest.sources.base import Window, WindowProgress
    from schemas.bars import SeriesRequest
    from schemas.values import SourceName

__all__ = ["EPOCH", "SyntheticSource", "generate_bars"]

EPOCH: Final = dt.date(2000, 1, 3)
"""The first day of synthetic history (a Monday, and the first trading day of 2000)."""

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
Mask = npt.NDArray[np.bool_]

_SESSION_START: Final = 240  # 04:00, minutes after New York midnight
_MINUTES: Final = 960  # 04:00-20:00
_REGULAR: Final = slice(330, 720)  # 09:30-16:00, as minute indices from 04:00
_CHUNK_DAYS: Final = 16  # 16 x 960 float64 = 120 KiB: under glibc's mmap threshold, so temporaries reuse heap
_MINUTE_MS: Final = 60_000
_EPOCH_ORD: Final = (EPOCH - dt.date(1970, 1, 1)).days  # also the anchor of n-day and n-week bars
_UINT32_MAX: Final = 2**32 - 1
CONCURRENCY: Final = 2
"""Windows generated at once: generation is CPU-bound NumPy work, and chDB inserts on one thread."""

# ---------------------------------------------------------------------------------------------
# Counter-based randomness: SplitMix64 over (symbol, stream, day, minute). NumPy's integer
# array arithmetic wraps modulo 2**64, which is exactly what the mixer needs.

_GAMMA: Final = np.uint64(0x9E3779B97F4A7C15)
_M1: Final = np.uint64(0xBF58476D1CE4E5B9)
_M2: Final = np.uint64(0x94D049BB133111EB)


def _mix(x: U64) -> U64:
    """SplitMix64's finaliser, element-wise (a bijection of uint64 with good avalanche)."""
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def _keys(seed: int, stream: int, days: I64) -> U64:
    """One 64-bit hash per day for ``(seed, stream)``."""
    salt = _mix(np.array([(seed << 16) | stream], dtype=np.uint64))
    return _mix(days.astype(np.uint64) * _GAMMA ^ salt)


def _unit(h: U64, bits: int = 52, shift: int = 12) -> F64:
    """Uniform in ``(0, 1)`` from ``bits`` bits of ``h`` starting at bit ``shift``."""
    field = h >> np.uint64(shift)
    if shift + bits < 64:
        field &= np.uint64((1 << bits) - 1)
    return field.astype(np.float64) * 2.0**-bits + 2.0 ** -(bits + 1)


def _normal(u1: F64, u2: F64) -> F64:
    """Standard normal from two uniforms in ``(0, 1)`` (Box-Muller)."""
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def _day_normal(seed: int, stream: int, days: I64) -> F64:
    return _normal(_unit(_keys(seed, stream, days)), _unit(_keys(seed, stream + 1, days)))


# ---------------------------------------------------------------------------------------------
# Per-symbol parameters and the intraday profile.


@dataclass(frozen=True, slots=True)
class _Symbol:
    seed: int
    price0: float
    sigma: float
    """Daily log-return volatility."""
    drift: float
    """Daily log drift (0-12 % a year)."""
    dollar_volume: float
    """Typical regular-session dollar volume."""
    trade_size: float
    """Typical shares per trade."""
    presence: F64
    """Probability that each session minute has a trade (and so a bar)."""


@lru_cache(maxsize=4096)
def _symbol(symbol: str) -> _Symbol:
    seed = zlib.crc32(symbol.encode())
    u = _unit(_keys(seed, 0, np.arange(5, dtype=np.int64))).tolist()
    dollar_volume = float(np.exp(np.log(2e7) + u[3] * np.log(200.0)))  # $20M .. $4B a day
    # Liquid names trade in more extended-hours minutes: p -> 1 - (1 - p) ** liquidity.
    liquidity = float(np.clip(dollar_volume / 3e8, 0.3, 4.0))
    presence = np.where(_EXTENDED, 1.0 - (1.0 - _BASE_PRESENCE) ** liquidity, _BASE_PRESENCE)
    presence[[0, -1]] = 1.0
    return _Symbol(
        seed=seed,
        price0=float(np.exp(np.log(10.0) + u[0] * np.log(50.0))),
        sigma=0.015 + 0.01 * u[1],
        drift=0.12 * u[2] / 252.0,
        dollar_volume=dollar_volume,
        trade_size=40.0 + 160.0 * u[4],
        presence=presence,
    )


def _profiles() -> tuple[F64, F64, F64, F64, Mask]:
    """Per session minute: volume share, volatility, cumulative variance, presence, extended."""
    i = np.arange(_MINUTES, dtype=np.float64)
    rate = np.empty(_MINUTES)  # trading intensity, 1.0 = a quiet regular-session minute
    pre = i < _REGULAR.start
    rate[pre] = 0.01 + 0.02 * (i[pre] >= 240) + 0.15 * (i[pre] / _REGULAR.start) ** 4  # 08:00 step
    u = (i[_REGULAR] - _REGULAR.start) / (_REGULAR.stop - _REGULAR.start - 1)
    rate[_REGULAR] = 1.0 + 4.0 * np.exp(-u / 0.035) + 2.0 * np.exp(-(1.0 - u) / 0.04)
    rate[_REGULAR.stop - 1] += 3.0  # the closing auction
    post = (i[_REGULAR.stop :] - _REGULAR.stop) / (_MINUTES - _REGULAR.stop - 1)
    rate[_REGULAR.stop :] = 0.015 + 0.6 * np.exp(-post / 0.01) + 0.1 * np.exp(-post / 0.15)
    share = rate / rate[_REGULAR].sum()
    variance = rate / rate.sum()
    cumulative = np.cumsum(variance)
    cumulative /= cumulative[-1]
    extended = (i < _REGULAR.start) | (i >= _REGULAR.stop)
    presence = np.where(extended, np.minimum(0.1 + 2.5 * rate, 0.97), 0.999)
    return share, np.sqrt(variance), cumulative, presence, extended


_SHARE, _MINUTE_SIGMA, _CUMULATIVE_VARIANCE, _BASE_PRESENCE, _EXTENDED = _profiles()
_COUNTERS: Final = np.arange(1, _MINUTES + 1, dtype=np.uint64) * _GAMMA


# ---------------------------------------------------------------------------------------------
# The daily walk and the minutes of each day.


@dataclass(frozen=True, slots=True)
class _Path:
    """Day-level values for every trading day from :data:`EPOCH` on."""

    days: I64
    log_open: F64
    log_close: F64
    sigma_intraday: F64
    shares: F64
    trade_size: F64


def _daily_path(sym: _Symbol, last: dt.date) -> _Path:
    # Always from EPOCH: cumsum is sequential, so every day's value is the same whatever `last`.
    days = trading_days(EPOCH, last).astype(np.int64)
    sigma = sym.sigma * np.exp(0.25 * _day_normal(sym.seed, 1, days) - 0.03125)
    overnight = 0.35 * sigma * _day_normal(sym.seed, 3, days)
    sigma_intraday = sigma * np.sqrt(1.0 - 0.35**2)
    intraday = sigma_intraday * _day_normal(sym.seed, 5, days)
    log_close = np.log(sym.price0) + np.cumsum(sym.drift + overnight + intraday)
    log_open = log_close - intraday
    activity = np.exp(0.3 * _day_normal(sym.seed, 7, days) - 0.045) * (1.0 + 8.0 * np.abs(intraday))
    return _Path(
        days=days,
        log_open=log_open,
        log_close=log_close,
        sigma_intraday=sigma_intraday,
        shares=sym.dollar_volume / np.exp(log_open) * activity,
        trade_size=sym.trade_size * np.exp(0.2 * _day_normal(sym.seed, 9, days)),
    )


@dataclass(frozen=True, slots=True)
class _Bars:
    """Columns of bars in time order (``ts`` is each bar's start, UTC epoch ms)."""

    ts: I64
    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64
    vwap: F64
    transactions: U64

    def columns(self) -> tuple[I64, F64, F64, F64, F64, F64, F64, U64]:
        return (
            self.ts,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            self.vwap,
            self.transactions,
        )


def _round_price(price: F64) -> F64:
    """Cents from $1 up, hundredths of a cent below (monotone, so OHLC order survives)."""
    scale = np.where(price >= 1.0, 100.0, 10_000.0)
    return np.maximum(np.rint(price * scale) / scale, 1e-4)


def _day_minutes(
    sym: _Symbol, path: _Path, rows: I64, midnight_ms: I64, until_ms: int | None
) -> tuple[_Bars, I64]:
    """The minute bars of the trading days ``path.days[rows]``; none at or after ``until_ms``."""
    days = path.days[rows]
    h1 = _mix(_keys(sym.seed, 20, days)[:, None] + _COUNTERS)
    h2 = _mix(_keys(sym.seed, 21, days)[:, None] + _COUNTERS)
    z = _normal(_unit(h1, 26, 38), _unit(h1, 26, 12))
    sigma = path.sigma_intraday[rows, None] * _MINUTE_SIGMA
    walk = np.cumsum(sigma * z, axis=1)
    log_open, log_close = path.log_open[rows, None], path.log_close[rows, None]
    log_price = np.empty((days.size, _MINUTES + 1))
    log_price[:, :1] = log_open
    # Brownian bridge: pin the walk's end to the close, in the profile's variance clock.
    log_price[:, 1:] = log_open + walk - _CUMULATIVE_VARIANCE * (walk[:, -1:] - (log_close - log_open))
    log_price[:, -1:] = log_close
    price = np.exp(log_price)
    rounded = _round_price(price)
    opens, closes = rounded[:, :-1], rounded[:, 1:]
    wick = 0.5 * sigma
    high = _round_price(np.maximum(price[:, :-1], price[:, 1:]) * np.exp(-wick * np.log(_unit(h2, 16, 48))))
    low = _round_price(np.minimum(price[:, :-1], price[:, 1:]) * np.exp(wick * np.log(_unit(h2, 16, 32))))
    expected = path.shares[rows, None] * _SHARE
    noise = (0.35 - 0.65 * np.log(_unit(h2, 16, 16))) * (0.6 + 0.4 * np.abs(z))
    volume = np.maximum(np.rint(expected * noise), 1.0)
    per_trade = path.trade_size[rows, None] * (0.6 + 0.8 * _unit(h2, 8, 8))
    transactions = np.clip(np.rint(volume / per_trade), 1.0, volume)
    mid = (high + low + opens + closes) / 4.0 + 0.3 * (_unit(h2, 8, 0) - 0.5) * (high - low)
    vwap = np.clip(np.rint(mid * 10_000.0) / 10_000.0, low, high)

    present = _unit(h1, 12, 0) < sym.presence
    start_ms = midnight_ms + _SESSION_START * _MINUTE_MS
    if until_ms is not None:  # minute i starts at start_ms + i minutes: keep those before until_ms
        limit = np.clip(-((start_ms - until_ms) // _MINUTE_MS), 0, _MINUTES)
        present &= np.arange(_MINUTES) < limit[:, None]
    ts = start_ms[:, None] + np.arange(_MINUTES, dtype=np.int64) * _MINUTE_MS
    bars = _Bars(
        ts[present],
        opens[present],
        high[present],
        low[present],
        closes[present],
        volume[present],
        vwap[present],
        transactions[present].astype(np.uint64),
    )
    return bars, np.count_nonzero(present, axis=1)


def _minutes(sym: _Symbol, days: I64, until_ms: int | None, *, daily: bool = False) -> tuple[_Bars, I64]:
    """The bars of the given trading days (ascending) in time order, and each day's bar count.

    With ``daily``, each day's minutes are aggregated into its day bar as they are generated, so
    decades of day bars never hold all their minutes in memory at once.
    """
    if days.size == 0:
        return _empty(), np.zeros(0, np.int64)
    path = _daily_path(sym, _to_date(int(days[-1])))
    rows = np.searchsorted(path.days, days)
    midnight_ms = ny_midnight_ms(days)
    parts: list[_Bars] = []
    counts: list[I64] = []
    for i in range(0, rows.size, _CHUNK_DAYS):
        chunk = slice(i, i + _CHUNK_DAYS)
        bars, count = _day_minutes(sym, path, rows[chunk], midnight_ms[chunk], until_ms)
        if daily:
            bars = _aggregate(bars, np.repeat(midnight_ms[chunk], count))
            count = np.minimum(count, 1)
        parts.append(bars)
        counts.append(count)
    columns = zip(*(part.columns() for part in parts), strict=True)
    return _Bars(*(np.concatenate(column) for column in columns)), np.concatenate(counts)


def _empty() -> _Bars:
    f = np.empty(0)
    return _Bars(np.empty(0, np.int64), f, f, f, f, f, f, np.empty(0, np.uint64))


def _aggregate(bars: _Bars, key: I64) -> _Bars:
    """OHLCV of each run of equal ``key`` (non-decreasing); a run's ``ts`` is its key."""
    if key.size == 0:
        return _empty()
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    ends = np.append(starts[1:], key.size) - 1
    high = np.maximum.reduceat(bars.high, starts)
    low = np.minimum.reduceat(bars.low, starts)
    volume = np.add.reduceat(bars.volume, starts)
    vwap = np.add.reduceat(bars.vwap * bars.volume, starts) / volume
    transactions = np.minimum(np.add.reduceat(bars.transactions, starts), np.uint64(_UINT32_MAX))
    return _Bars(
        key[starts],
        bars.open[starts],
        high,
        low,
        bars.close[ends],
        volume,
        np.clip(np.rint(vwap * 10_000.0) / 10_000.0, low, high),
        transactions,
    )


# ---------------------------------------------------------------------------------------------
# Bars of a day or wider.


def _wide_bars(sym: _Symbol, key: SeriesKey, start: dt.date, end: dt.date, until_ms: int | None) -> _Bars:
    """Bars of a day or wider whose first trading day lies in ``[start, end]``, each complete."""
    lo, hi = _ord(start), _ord(end)
    first = int(bucket_starts(np.array([lo]), key.multiplier, key.timespan, _EPOCH_ORD)[0])
    stop = next_bucket_start(hi, key.multiplier, key.timespan, _EPOCH_ORD)
    if until_ms is not None:  # no day after until_ms's (UTC, so later or equal New York) date matters
        stop = min(stop, until_ms // DAY_MS + 1)
    days = trading_days(_to_date(max(first, _EPOCH_ORD)), _to_date(stop - 1)).astype(np.int64)
    if days.size == 0:
        return _empty()
    buckets = bucket_starts(days, key.multiplier, key.timespan, _EPOCH_ORD)
    is_first = np.concatenate(([True], buckets[1:] != buckets[:-1]))
    chosen = buckets[is_first][(days[is_first] >= lo) & (days[is_first] <= hi)]
    days = days[is_member(buckets, chosen)]
    day_bars, counts = _minutes(sym, days, until_ms, daily=True)
    if key.timespan == "day" and key.multiplier == 1:
        return day_bars
    bucket_ms = np.repeat(
        ny_midnight_ms(bucket_starts(days, key.multiplier, key.timespan, _EPOCH_ORD)), counts
    )
    return _aggregate(day_bars, bucket_ms)


def _ord(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days


def _to_date(day: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=day)


def _to_ms(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(milliseconds=1)


def _to_table(bars: _Bars) -> pa.Table:
    columns: list[npt.NDArray[np.generic]] = [*bars.columns()[:7], bars.transactions.astype(np.uint32)]
    # Arrays from raw buffers: zero-copy, and pa.array(ndarray) would import pandas when present.
    arrays = [
        pa.Array.from_buffers(field.type, column.size, [None, pa.py_buffer(np.ascontiguousarray(column))])
        for field, column in zip(BAR_ARROW_SCHEMA, columns, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=BAR_ARROW_SCHEMA)


# ---------------------------------------------------------------------------------------------
# The public surface.


def _check(key: SeriesKey, start: dt.date) -> None:
    if key.timespan == "second":
        raise UnsupportedRequest("the synthetic source has no second bars")
    if key.multiplier < 1:
        raise UnsupportedRequest("the multiplier must be at least 1")
    if start < EPOCH:
        raise UnsupportedRequest(
            f"synthetic history starts on {EPOCH.isoformat()}; asked for {start.isoformat()}"
        )


def generate_bars(
    key: SeriesKey, start: dt.date, end: dt.date, *, until: dt.datetime | None = None
) -> pa.Table:
    """Generate the synthetic bars of one series over the New York dates ``[start, end]``.

    A bar belongs to the range when the first trading day it covers does; bars of a day or
    wider always aggregate their whole period, so a weekly bar is the same whichever range
    holds it. Bars that start at or after ``until`` are dropped (a bar straddling it keeps only
    the minutes before it); without ``until`` every requested day is generated, future or not.

    Args:
        key: The series; ``adjusted`` makes no difference (synthetic symbols never split).
        start: First New York date, on or after :data:`EPOCH`.
        end: Last New York date, inclusive.
        until: Optional instant (naive means UTC); bars starting at or after it are dropped.

    Returns:
        A table in :data:`schemas.bars.BAR_ARROW_SCHEMA`, ``ts`` ascending (each bar's start).

    Raises:
        UnsupportedRequest: for ``second`` bars, a multiplier below 1, or ``start`` before
            :data:`EPOCH`.

    >>> key = SeriesKey(symbol="DEMO", multiplier=1, timespan="day")
    >>> generate_bars(key, dt.date(2024, 7, 1), dt.date(2024, 7, 7)).num_rows  # July 4th is a holiday
    4
    """
    _check(key, start)
    until_ms = None if until is None else _to_ms(until)
    sym = _symbol(key.symbol)
    if end < start:
        bars = _empty()
    elif key.timespan in ("minute", "hour"):
        days = trading_days(start, end).astype(np.int64)
        minutes, counts = _minutes(sym, days, until_ms)
        width_ms = key.multiplier * _MINUTE_MS * (60 if key.timespan == "hour" else 1)
        if width_ms == _MINUTE_MS:
            bars = minutes
        else:  # buckets aligned to New York midnight, never spanning two days
            midnight = np.repeat(ny_midnight_ms(days), counts)
            bars = _aggregate(minutes, midnight + (minutes.ts - midnight) // width_ms * width_ms)
    else:
        bars = _wide_bars(sym, key, start, end, until_ms)
    return _to_table(bars)


class SyntheticSource:
    """A :class:`~pipelines.ingest.sources.base.BarSource` of deterministic demo bars.

    Args:
        now: Clock used to stop at the present; when given, bars up to ``now()`` are served,
            otherwise only days strictly before today's New York date.

    >>> import asyncio
    >>> from schemas.bars import SeriesRequest
    >>> async def count() -> int:
    ...     key = SeriesKey(symbol="DEMO", multiplier=1, timespan="day")
    ...     request = SeriesRequest(key=key, start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31))
    ...     return sum([batch.num_rows async for batch in SyntheticSource().fetch(request)])
    >>> asyncio.run(count())
    252
    """

    name: SourceName = "synthetic"

    def __init__(self, now: Callable[[], dt.datetime] | None = None) -> None:
        """Create a source; ``now`` is injectable so tests and demos can pin the present."""
        self._now = now

    def _until(self) -> dt.datetime:
        if self._now is not None:
            return self._now()
        today = dt.datetime.now(NEW_YORK).date()
        return dt.datetime.combine(today, dt.time(), NEW_YORK)

    @property
    def concurrency(self) -> int:
        """Windows generated at once (each in a worker thread)."""
        return CONCURRENCY

    def plan(self, request: SeriesRequest) -> list[Window]:
        """Calendar months (intraday) or years of ``request``, up to the last day with bars.

        Raises:
            UnsupportedRequest: as :func:`generate_bars` does.
        """
        key = request.key
        _check(key, request.start)
        last = min(request.end, _to_date(_to_ms(self._until()) // DAY_MS + 1))
        return _chunks(request.start, last, yearly=key.timespan not in ("minute", "hour"))

    async def fetch_window(self, request: SeriesRequest, window: Window) -> AsyncIterator[pa.RecordBatch]:
        """Yield the bars of one window, generated in a worker thread so the event loop never blocks."""
        until = self._until()
        table = await asyncio.to_thread(generate_bars, request.key, window[0], window[1], until=until)
        for batch in table.to_batches():
            yield batch

    async def fetch(
        self, request: SeriesRequest, progress: WindowProgress | None = None
    ) -> AsyncIterator[pa.RecordBatch]:
        """Yield the bars of ``request`` one calendar month (intraday) or year at a time.

        Args:
            request: The series and the inclusive range of New York dates.
            progress: Called as ``progress(chunks_done, chunks_total, bars_so_far)`` per chunk.

        Yields:
            Record batches in :data:`schemas.bars.BAR_ARROW_SCHEMA`, in time order.

        Raises:
            UnsupportedRequest: as :func:`generate_bars` does.
        """
        chunks = self.plan(request)
        bars = 0
        for done, chunk in enumerate(chunks, start=1):
            async for batch in self.fetch_window(request, chunk):
                bars += batch.num_rows
                yield batch
            if progress is not None:
                progress(done, len(chunks), bars)


def _chunks(start: dt.date, end: dt.date, *, yearly: bool) -> list[tuple[dt.date, dt.date]]:
    """Split ``[start, end]`` at calendar month (or year) boundaries."""
    chunks: list[tuple[dt.date, dt.date]] = []
    while start <= end:
        if yearly:
            following = dt.date(start.year + 1, 1, 1)
        else:
            following = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
        chunks.append((start, min(end, following - dt.timedelta(days=1))))
        start = following
    return chunks
