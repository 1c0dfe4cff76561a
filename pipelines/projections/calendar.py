"""The buckets to come: where a projection's steps fall, on the exchange calendar.

Steps follow the NYSE calendar as chart buckets do (New York time): daily steps are the next
trading days (their New York midnight, as daily bars are stamped), weekly and monthly steps the
next weeks and months holding a trading day; intraday steps are the buckets of the next regular
sessions (09:30–16:00, 13:00 on an early close), each bucket aligned to New York midnight as
charts align them (a 1h bucket of 09:30 starts at 09:00). Never a weekend or a holiday.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import numpy as np
from numpy.typing import NDArray

from pipelines.exchange_calendar import bucket_starts, ny_midnight_ms, regular_sessions, trading_days
from schemas.values import NEW_YORK, BarWidth, parse_series_code

DAY_MS: Final = 86_400_000
_MONDAY: Final = 10959  # 2000-01-03, a Monday: weeks are counted from it
Stamps = NDArray[np.int64]


def _ny_day(ms: int) -> dt.date:
    """The New York calendar day of an instant (its bucket's day for daily and wider bars)."""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).astimezone(NEW_YORK).date()


def future_buckets(last_ts: int, width: str, horizon: int) -> Stamps:
    """The starts (epoch ms) of the ``horizon`` buckets of ``width`` after the one starting at ``last_ts``."""
    bucket = BarWidth.of(width)
    multiplier, timespan = parse_series_code(width)
    per_step = bucket.approx_ms / DAY_MS * 1.6 + 1  # calendar days a step may take, weekends and holidays
    found: list[int] = []
    start = _ny_day(last_ts)
    while len(found) < horizon:
        end = start + dt.timedelta(days=int(40 + (horizon - len(found)) * per_step))
        stamps = _buckets(start, end, bucket, multiplier, timespan)
        found.extend(t for t in stamps if t > last_ts and (not found or t > found[-1]))
        start = end + dt.timedelta(days=1)
    return np.asarray(found[:horizon], dtype=np.int64)


def _buckets(start: dt.date, end: dt.date, bucket: BarWidth, multiplier: int, timespan: str) -> list[int]:
    """Every bucket start holding regular-session time of the trading days in [start, end]."""
    if bucket.is_intraday:
        midnight, opens, closes = regular_sessions(start, end)
        width = bucket.fixed_ms
        stamps: list[int] = []
        for day, open_, close in zip(midnight.tolist(), opens.tolist(), closes.tolist(), strict=True):
            first = day + (open_ - day) // width * width
            stamps.extend(range(first, close, width))
        return stamps
    days = trading_days(start, end).astype(np.int64)
    if days.size == 0:
        return []
    firsts = np.unique(bucket_starts(days, multiplier, timespan, _MONDAY))  # type: ignore[arg-type]
    return [int(t) for t in ny_midnight_ms(firsts)]
