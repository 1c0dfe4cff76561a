"""Pure data-quality maths over one series' stored bars: calendar coverage, gaps, bad bars.

Bars are matched to *slots*, the bars the NYSE calendar expects:

* intraday widths: the slots (aligned in New York time, as chart buckets are) that overlap the
  regular session, 09:30-16:00 (13:00 on early closes), of each trading day. Pre- and
  after-market bars are counted as stored bars but never expected: Polygon sends a minute bar
  only for a minute with trades, and most extended-hours minutes have none.
* daily and wider widths: the days, n-day, week or month buckets holding a trading day. A daily
  bar belongs to the day whose New York midnight is nearest its time stamp, so bars stamped at
  New York midnight (Polygon) or at UTC midnight (many files) land on their own day.

Nothing here does I/O: :func:`measure` takes arrays and returns numbers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from pipelines.exchange_calendar import DAY_MS, bucket_starts, is_member, ny_midnight_ms, regular_sessions
from schemas.quality import DataQuality, Gap, OhlcViolations, QualityBasis
from schemas.values import BarWidth

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.bool_]

ZERO_VOLUME: Final = 1
HIGH_BELOW_BODY: Final = 2
LOW_ABOVE_BODY: Final = 4
HIGH_BELOW_LOW: Final = 8
NON_POSITIVE: Final = 16
"""Bits of a bar's flags (see :mod:`warehouse.clickhouse.quality`)."""

LARGEST_GAPS: Final = 5
"""How many of the largest gaps the summary keeps."""

ANCHOR_DAY: Final = (dt.date(2000, 1, 3) - dt.date(1970, 1, 1)).days
"""A Monday: n-day and week buckets are counted from it (as the synthetic source counts them)."""

_HALF_DAY_MS: Final = DAY_MS // 2
_HOUR_MS: Final = 3_600_000


@dataclass(frozen=True, slots=True)
class Slots:
    """Expected bars: their starts and ends (exclusive), UTC epoch ms, ascending."""

    starts: I64
    ends: I64


@dataclass(frozen=True, slots=True)
class GapRuns:
    """Every gap of a series: start, end (exclusive) and missing bars, oldest first."""

    starts: I64
    ends: I64
    missing: I64

    def __len__(self) -> int:
        return len(self.starts)

    def to_gaps(self, index: npt.NDArray[np.intp] | slice | None = None) -> list[Gap]:
        """The gaps at ``index`` (all by default) as structs."""
        pick = slice(None) if index is None else index
        return [
            Gap(start=_instant(int(s)), end=_instant(int(e)), missing=int(m))
            for s, e, m in zip(self.starts[pick], self.ends[pick], self.missing[pick], strict=True)
        ]


def basis_of(series: str) -> QualityBasis:
    """What the calendar expects for bars of width ``series``.

    >>> basis_of("5m"), basis_of("1d")
    ('regular_session', 'trading_days')
    """
    return "regular_session" if BarWidth.of(series).is_intraday else "trading_days"


def expected_slots(series: str, start: dt.date, end: dt.date, not_after_ms: int) -> Slots:
    """The bars of width ``series`` the calendar expects from ``start`` to ``end`` (New York days).

    A bar is expected once the part of it inside the regular session has ended by
    ``not_after_ms``: a session still running expects only its finished bars.

    Raises:
        ValueError: ``series`` is wider than a day but not a whole number of days or months.

    >>> slots = expected_slots("1h", dt.date(2024, 11, 29), dt.date(2024, 11, 29), 2**62)
    >>> [int(s % DAY_MS // _HOUR_MS) for s in slots.starts]  # 09:00-12:00 EST: an early close
    [14, 15, 16, 17]
    """
    width = BarWidth.of(series)
    midnight, open_, close = regular_sessions(start, end)
    if width.is_intraday:
        w = width.fixed_ms
        first = midnight + (open_ - midnight) // w * w
        counts = (close - first + w - 1) // w
        owner = np.repeat(np.arange(len(first)), counts)
        offsets = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        starts = first[owner] + offsets * w
        ends = np.minimum(starts + w, close[owner])
    else:
        days = ((midnight + _HALF_DAY_MS) // DAY_MS)[close <= not_after_ms]
        buckets = np.unique(_day_buckets(days, width))
        return Slots(starts=ny_midnight_ms(buckets), ends=ny_midnight_ms(_next_buckets(buckets, width)))
    kept = ends <= not_after_ms
    return Slots(starts=starts[kept], ends=ends[kept])


def slot_keys(series: str, ts_ms: I64) -> I64:
    """The start of the expected slot each stored bar time falls in (see :func:`expected_slots`)."""
    width = BarWidth.of(series)
    if width.is_intraday:
        w = width.fixed_ms
        if _HOUR_MS % w == 0:  # New York is a whole number of hours from UTC: UTC alignment agrees
            return ts_ms - ts_ms % w
        midnight = ny_midnight_ms(_local_days(ts_ms))
        return midnight + (ts_ms - midnight) // w * w
    days = _local_days(ts_ms + _HALF_DAY_MS)
    return ny_midnight_ms(_day_buckets(days, width))


def gap_runs(slots: Slots, present: Mask) -> GapRuns:
    """Runs of consecutive expected slots that are not ``present``."""
    missing = ~present
    edges = np.diff(missing.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    first = np.flatnonzero(edges == 1)
    last = np.flatnonzero(edges == -1) - 1
    return GapRuns(
        starts=slots.starts[first], ends=slots.ends[last], missing=(last - first + 1).astype(np.int64)
    )


def count_runs(mask: Mask) -> int:
    """How many runs of consecutive ``True`` values ``mask`` holds.

    >>> count_runs(np.array([True, True, False, True]))
    2
    """
    if mask.size == 0:
        return 0
    return int(mask[0]) + int(np.count_nonzero(mask[1:] & ~mask[:-1]))


def measure(
    series: str,
    ts_ms: I64,
    flags: U8,
    *,
    start: dt.date,
    end: dt.date,
    window: tuple[dt.datetime, dt.datetime],
    assessed_at: dt.datetime,
    duplicates_dropped: int | None,
) -> tuple[DataQuality, GapRuns]:
    """The quality of a series whose distinct stored bars in the range are ``ts_ms`` (ascending).

    Args:
        series: The bar width code (``1m``, ``1d`` ...).
        ts_ms: Stored bar times, UTC epoch ms, ascending, distinct.
        flags: Per bar, the bits :data:`ZERO_VOLUME` ... :data:`NON_POSITIVE`.
        start: First New York day of the dataset's range.
        end: Last New York day of the dataset's range.
        window: The instants assessed (reported as is).
        assessed_at: Now; sessions that had not ended by then are not expected.
        duplicates_dropped: Reported as is.

    Returns:
        The summary and every gap.
    """
    now_ms = int(assessed_at.timestamp() * 1000)
    slots = expected_slots(series, start, end, now_ms)
    present = is_member(slots.starts, slot_keys(series, ts_ms))
    runs = gap_runs(slots, present)
    order = np.lexsort((runs.starts, -runs.missing))[:LARGEST_GAPS]
    expected, found = len(slots.starts), int(np.count_nonzero(present))
    zero = (flags & ZERO_VOLUME) != 0
    bad = flags & (HIGH_BELOW_BODY | LOW_ABOVE_BODY | HIGH_BELOW_LOW | NON_POSITIVE)
    quality = DataQuality(
        basis=basis_of(series),
        bars=len(ts_ms),
        expected=expected,
        present=found,
        coverage=found / expected if expected else None,
        gaps=len(runs),
        missing=expected - found,
        largest_gaps=runs.to_gaps(order),
        duplicates_dropped=duplicates_dropped,
        zero_volume_bars=int(np.count_nonzero(zero)),
        zero_volume_runs=count_runs(zero),
        ohlc_violations=int(np.count_nonzero(bad)),
        ohlc=OhlcViolations(
            high_below_body=_count(flags, HIGH_BELOW_BODY),
            low_above_body=_count(flags, LOW_ABOVE_BODY),
            high_below_low=_count(flags, HIGH_BELOW_LOW),
            non_positive=_count(flags, NON_POSITIVE),
        ),
        window_start=window[0],
        window_end=window[1],
        assessed_at=assessed_at,
    )
    return quality, runs


def _count(flags: U8, bit: int) -> int:
    return int(np.count_nonzero(flags & bit))


def _local_days(ts_ms: I64) -> I64:
    """The New York calendar day (days since 1970-01-01) of each instant."""
    days = (ts_ms - 4 * _HOUR_MS) // DAY_MS  # New York is 4 or 5 hours behind UTC
    return days - (ts_ms < ny_midnight_ms(days)).astype(np.int64)


def _day_buckets(days: I64, width: BarWidth) -> I64:
    """The first day of the ``width`` bucket holding each day."""
    if width.months:
        return bucket_starts(days, width.months, "month", ANCHOR_DAY)
    return bucket_starts(days, _whole_days(width), "day", ANCHOR_DAY)


def _next_buckets(buckets: I64, width: BarWidth) -> I64:
    """The first day of the bucket after each bucket start."""
    if not width.months:
        return buckets + _whole_days(width)
    month = buckets.astype("datetime64[D]").astype("datetime64[M]") + width.months
    return month.astype("datetime64[D]").astype(np.int64)


def _whole_days(width: BarWidth) -> int:
    days, rest = divmod(width.fixed_ms, DAY_MS)
    if rest:
        raise ValueError("bars wider than a day must span whole days or months to be matched to the calendar")
    return days


def _instant(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
