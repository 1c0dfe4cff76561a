"""The synthetic live feed: deterministic demo minute bars around the clock, never market data.

Every minute of every day has a bar, a pure function of ``(symbol, minute)``:

* where the synthetic history (:func:`pipelines.ingest.sources.synthetic.generate_bars`) has a bar — a
  minute with trades in a 04:00-20:00 New York session of a trading day — it is that bar, so live
  bars and a later synthetic fetch of the same day agree;
* every other minute (nights, weekends, holidays, quiet extended-hours minutes) lies on a quiet
  Brownian bridge from the close of the history bar before it to the open of the one after, so the
  price never jumps.

The minute in progress is revealed as it runs: a deterministic path of :data:`STEPS` steps from
the bar's open to its close touches its high and low on the way, and the bar shown at a fraction
of the minute is the part of that path (and the share of the volume) up to there. At the end of
the minute the open bar becomes exactly the closed one.

Example:
    >>> feed = SyntheticFeed(["DEMO"], tick_s=2.0)
    >>> async for batch in feed.updates({"DEMO": None}):  # doctest: +SKIP
    ...     print([(item.symbol, item.closed) for item in batch])
"""

from __future__ import annotations

import asyncio
import datetime as dt
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from pipelines.ingest.sources.feeds import MINUTE_MS, LiveBars, minute_floor
from pipelines.ingest.sources.synthetic import EPOCH, generate_bars
from schemas.bars import BAR_ARROW_SCHEMA, TS_TYPE, SeriesKey
from schemas.values import NEW_YORK, SourceName

__all__ = ["STEPS", "SyntheticFeed", "minute_bars", "open_bar"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

STEPS: Final = 30
"""Steps of the path inside a minute (one per two seconds)."""
_GAP_SIGMA: Final = 0.0015
"""Log-price volatility per quiet minute (15 basis points: a demo should visibly move)."""
_WICK: Final = 0.0002
_MARGIN_DAYS: Final = 6
"""History read either side of a range: more than the longest market closure."""
_FIRST_MS: Final = int(dt.datetime.combine(EPOCH, dt.time(4), NEW_YORK).timestamp() * 1000)


def _round(price: F64) -> F64:
    """Cents from $1 up, hundredths of a cent below (as the synthetic history rounds)."""
    scale = np.where(price >= 1.0, 100.0, 10_000.0)
    return np.maximum(np.rint(price * scale) / scale, 1e-4)


def _seed(symbol: str) -> int:
    return zlib.crc32(symbol.encode())


@lru_cache(maxsize=16)
def _history(symbol: str, first: dt.date, last: dt.date) -> tuple[I64, dict[str, F64]]:
    """``ts`` and the other columns of the synthetic history's minute bars over ``[first, last]``."""
    key = SeriesKey(symbol=symbol, multiplier=1, timespan="minute")
    table = generate_bars(key, max(first, EPOCH), last)
    ts = table.column("ts").cast(pa.int64()).to_numpy()
    columns = {
        name: table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
        for name in BAR_ARROW_SCHEMA.names[1:]
    }
    return ts, columns


@lru_cache(maxsize=64)
def _bridge(
    symbol: str, t0: int, close0: float, t1: int, open1: float, volume: float
) -> tuple[F64, F64, F64, F64, F64]:
    """Open, high, low, close and volume of the quiet minutes strictly between bars at ``t0`` and ``t1``."""
    count = (t1 - t0) // MINUTE_MS - 1
    rng = np.random.default_rng([_seed(symbol), t0 // MINUTE_MS])
    z = rng.standard_normal((4, count))
    walk = np.cumsum(z[0]) * _GAP_SIGMA
    share = np.arange(1, count + 1) / count
    y0, y1 = np.log(close0), np.log(open1)
    path = y0 + share * (y1 - y0) + walk - share * walk[-1]
    price = np.exp(np.concatenate(([y0], path)))
    opens, closes = _round(price[:-1]), _round(price[1:])
    closes[-1] = open1  # the next history bar opens where the bridge ends
    high = np.maximum(
        _round(np.maximum(opens, closes) * np.exp(np.abs(z[1]) * _WICK)), np.maximum(opens, closes)
    )
    low = np.minimum(
        _round(np.minimum(opens, closes) * np.exp(-np.abs(z[2]) * _WICK)), np.minimum(opens, closes)
    )
    vol = np.maximum(np.rint(volume * 0.2 * np.exp(0.5 * z[3] - 0.125)), 1.0)
    return opens, high, low, closes, vol


def _ny_date(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, NEW_YORK).date()


def minute_bars(symbol: str, start_ms: int, end_ms: int) -> pa.Table:
    """The closed synthetic bars of every minute in ``[start_ms, end_ms)`` (minute-aligned).

    Args:
        symbol: Any ticker; each gets its own deterministic prices.
        start_ms: First minute (epoch ms, a multiple of 60,000), from 2000-01-03 04:00 New York on.
        end_ms: End of the range, exclusive.

    Returns:
        A table in :data:`schemas.bars.BAR_ARROW_SCHEMA`, one bar per minute, ``ts`` ascending.

    >>> start = 1710250200000  # 2024-03-12 09:30 New York
    >>> minute_bars("DEMO", start, start + 5 * 60_000).num_rows
    5
    """
    if start_ms % MINUTE_MS or end_ms % MINUTE_MS:
        raise ValueError("live bars start on whole minutes")
    if start_ms < _FIRST_MS:
        raise ValueError(f"synthetic history starts on {EPOCH.isoformat()}")
    minutes = np.arange(start_ms, max(start_ms, end_ms), MINUTE_MS, dtype=np.int64)
    if minutes.size == 0:
        return BAR_ARROW_SCHEMA.empty_table()
    first = _ny_date(start_ms) - dt.timedelta(days=_MARGIN_DAYS)
    last = _ny_date(end_ms) + dt.timedelta(days=_MARGIN_DAYS)
    ts, columns = _history(symbol, first, last)
    index = np.searchsorted(ts, minutes)
    inside = index < ts.size
    known = np.zeros(minutes.size, dtype=bool)
    known[inside] = ts[index[inside]] == minutes[inside]
    out = {name: np.empty(minutes.size) for name in ("open", "high", "low", "close", "volume", "vwap")}
    transactions = np.empty(minutes.size)
    for name in out:
        out[name][known] = columns[name][index[known]]
    transactions[known] = columns["transactions"][index[known]]
    quiet = np.flatnonzero(~known)
    if quiet.size:
        before = index[quiet] - 1  # the history bar before each quiet minute (after it: index)
        if before.min() < 0 or index[quiet].max() >= ts.size:
            raise ValueError("no synthetic history around the range")  # pragma: no cover (margin covers it)
        for gap in np.unique(before):
            members = quiet[before == gap]
            t0, t1 = int(ts[gap]), int(ts[gap + 1])
            o, h, low, c, v = _bridge(
                symbol,
                t0,
                float(columns["close"][gap]),
                t1,
                float(columns["open"][gap + 1]),
                float(min(columns["volume"][gap], columns["volume"][gap + 1])),
            )
            k = (minutes[members] - t0) // MINUTE_MS - 1
            out["open"][members], out["high"][members], out["low"][members] = o[k], h[k], low[k]
            out["close"][members], out["volume"][members] = c[k], v[k]
            mid = np.rint((o[k] + h[k] + low[k] + c[k]) / 4 * 10_000) / 10_000
            out["vwap"][members] = np.clip(mid, low[k], h[k])
            transactions[members] = np.maximum(np.rint(v[k] / 100), 1)
    return pa.table(
        {
            "ts": pa.array(minutes, TS_TYPE),
            **{name: pa.array(values, pa.float64()) for name, values in out.items()},
            "transactions": pa.array(transactions.astype(np.uint32), pa.uint32()),
        },
        schema=BAR_ARROW_SCHEMA,
    )


def open_bar(symbol: str, minute_ms: int, fraction: float) -> pa.RecordBatch:
    """The bar of the minute starting at ``minute_ms`` as it stands ``fraction`` (0-1) of the way through.

    At ``fraction`` 1 it is the closed bar of :func:`minute_bars`; before, it holds the open, the
    path so far (its high and low never exceed the closed bar's) and that share of the volume.
    """
    final = minute_bars(symbol, minute_ms, minute_ms + MINUTE_MS).to_pylist()[0]
    step = min(STEPS, max(1, int(fraction * STEPS)))
    o, h, low, c = final["open"], final["high"], final["low"], final["close"]
    rng = np.random.default_rng([_seed(symbol), minute_ms // MINUTE_MS, 1])
    z = rng.standard_normal(STEPS - 1)
    share = np.arange(1, STEPS) / STEPS
    walk = np.cumsum(z) * (h - low) / 6
    interior = o + share * (c - o) + walk - share * walk[-1]
    path = np.concatenate(([o], np.clip(_round(interior), low, h), [c]))
    if STEPS > 1:  # the path touches the bar's extremes inside the minute
        top, bottom = 1 + int(np.argmax(path[1:-1])), 1 + int(np.argmin(path[1:-1]))
        path[top] = h
        if bottom != top:
            path[bottom] = low
        else:
            path[1 + (top % (STEPS - 1))] = low
    seen = path[: step + 1]
    share_done = step / STEPS
    high_now, low_now = float(seen.max()), float(seen.min())
    if step == STEPS:
        high_now, low_now = h, low
    volume = float(np.rint(final["volume"] * share_done))
    transactions = int(np.rint((final["transactions"] or 0) * share_done))
    vwap = final["vwap"]
    return pa.RecordBatch.from_pylist(
        [
            {
                "ts": final["ts"],
                "open": o,
                "high": high_now,
                "low": low_now,
                "close": float(seen[-1]),
                "volume": volume,
                "vwap": None if vwap is None else min(max(vwap, low_now), high_now),
                "transactions": transactions,
            }
        ],
        schema=BAR_ARROW_SCHEMA,
    )


class SyntheticFeed:
    """A :class:`~pipelines.ingest.sources.feeds.LiveFeed` of synthetic bars for the demo symbols.

    Each tick sends the minute in progress of every symbol as an open bar; the first tick of a new
    minute first sends the minutes just closed. Before the first tick it sends the closed minutes
    since each symbol's last stored bar (or since New York midnight for a symbol with none),
    within ``max_gap``.

    Args:
        symbols: The tickers to generate.
        tick_s: Seconds between ticks.
        max_gap: Oldest minute the first batch goes back to.
        clock: The present (UTC); injectable for tests.
        sleep: Awaits a number of seconds; injectable so tests can step the feed.
    """

    source: SourceName = "synthetic"

    def __init__(
        self,
        symbols: Sequence[str],
        *,
        tick_s: float = 2.0,
        max_gap: dt.timedelta = dt.timedelta(days=7),
        clock: Callable[[], dt.datetime] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """Configure the feed; nothing runs until :meth:`updates` is iterated."""
        if not symbols:
            raise ValueError("name at least one symbol")
        if tick_s <= 0:
            raise ValueError("tick_s must be positive")
        self.symbols = sorted({symbol.upper() for symbol in symbols})
        self.tick_s = tick_s
        self._max_gap_ms = int(max_gap.total_seconds() * 1000)
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._sleep = sleep

    async def updates(self, since: Mapping[str, int | None]) -> AsyncIterator[list[LiveBars]]:
        """Yield the catch-up batch, then one batch per tick, until cancelled."""
        now = self._clock()
        current = minute_floor(now)
        catch_up = []
        for symbol in self.symbols:
            last = since.get(symbol)
            if last is None:
                midnight = dt.datetime.combine(now.astimezone(NEW_YORK).date(), dt.time(), NEW_YORK)
                start = int(midnight.timestamp() * 1000)
            else:
                start = last - last % MINUTE_MS + MINUTE_MS
            start = max(start, current - self._max_gap_ms, _FIRST_MS)
            if start < current:
                table = await asyncio.to_thread(minute_bars, symbol, start, current)
                catch_up.append(LiveBars(symbol=symbol, bars=_one_batch(table), backfill=True))
        if catch_up:
            yield catch_up
        closed_until = current
        while True:
            now = self._clock()
            current = minute_floor(now)
            batch: list[LiveBars] = []
            if current > closed_until:
                start = max(closed_until, current - self._max_gap_ms)
                for symbol in self.symbols:
                    table = await asyncio.to_thread(minute_bars, symbol, start, current)
                    batch.append(LiveBars(symbol=symbol, bars=_one_batch(table)))
                closed_until = current
            fraction = (now.timestamp() * 1000 - current) / MINUTE_MS
            for symbol in self.symbols:
                bar = await asyncio.to_thread(open_bar, symbol, current, fraction)
                batch.append(LiveBars(symbol=symbol, bars=bar, closed=False))
            yield batch
            to_boundary = (current + MINUTE_MS - self._clock().timestamp() * 1000) / 1000
            await self._sleep(max(0.05, min(self.tick_s, to_boundary + 0.05)))


def _one_batch(table: pa.Table) -> pa.RecordBatch:
    batches = table.combine_chunks().to_batches()
    return batches[0] if batches else pa.RecordBatch.from_pylist([], schema=BAR_ARROW_SCHEMA)
