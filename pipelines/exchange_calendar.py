"""The NYSE trading calendar, New York wall-clock time and calendar buckets of bars.

Only the regular full-day holidays are modelled (rule 7.2 of the NYSE): New Year's Day, Martin
Luther King Jr. Day, Washington's Birthday, Good Friday, Memorial Day, Juneteenth (from 2022),
Independence Day, Labor Day, Thanksgiving and Christmas, with the weekend rule (a Saturday
holiday is observed on the Friday before, a Sunday one on the Monday after; New Year's Day on a
Saturday is not observed at all). The regular early closes (13:00 New York time) are modelled
too: the day after Thanksgiving, and July 3 and December 24 when they fall on Monday to Thursday.
Unscheduled closings (2001-09-11, Hurricane Sandy, national days of mourning) are not.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import TYPE_CHECKING, Final, TypeVar

import numpy as np
import numpy.typing as npt

from schemas.values import NEW_YORK

if TYPE_CHECKING:
    from schemas.values import Timespan


DAY_MS: Final = 86_400_000

_MON, _THU, _FRI, _SAT, _SUN = 0, 3, 4, 5, 6
_T = TypeVar("_T", bound=np.generic)


def easter(year: int) -> dt.date:
    """Western (Gregorian) Easter Sunday of ``year``, by the anonymous Gregorian algorithm.

    >>> easter(2024)
    datetime.date(2024, 3, 31)
    """
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The ``n``-th ``weekday`` (Monday = 0) of a month; ``n = -1`` for the last one."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: dt.date) -> dt.date:
    """The weekday on which a fixed-date holiday is observed."""
    if day.weekday() == _SAT:
        return day - dt.timedelta(days=1)
    if day.weekday() == _SUN:
        return day + dt.timedelta(days=1)
    return day


@cache
def nyse_holidays(year: int) -> frozenset[dt.date]:
    """The regular full-day NYSE holidays observed in ``year``.

    >>> sorted(nyse_holidays(2022))[:2]
    [datetime.date(2022, 1, 17), datetime.date(2022, 2, 21)]
    """
    days = {
        _nth_weekday(year, 1, _MON, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, _MON, 3),  # Washington's Birthday
        easter(year) - dt.timedelta(days=2),  # Good Friday
        _nth_weekday(year, 5, _MON, -1),  # Memorial Day
        _observed(dt.date(year, 7, 4)),
        _nth_weekday(year, 9, _MON, 1),  # Labor Day
        _nth_weekday(year, 11, _THU, 4),  # Thanksgiving
        _observed(dt.date(year, 12, 25)),
    }
    new_year = dt.date(year, 1, 1)
    if new_year.weekday() != _SAT:  # a Saturday New Year's Day is not moved into the old year
        days.add(_observed(new_year))
    if year >= 2022:
        days.add(_observed(dt.date(year, 6, 19)))  # Juneteenth
    return frozenset(days)


@cache
def early_closes(year: int) -> frozenset[dt.date]:
    """The NYSE's regular early closes (13:00 New York time) in ``year``.

    The day after Thanksgiving always; July 3 and December 24 when they fall on Monday to
    Thursday (on a Friday they are the observed holiday, at a weekend there is no session).

    >>> sorted(early_closes(2024))
    [datetime.date(2024, 7, 3), datetime.date(2024, 11, 29), datetime.date(2024, 12, 24)]
    """
    days = {_nth_weekday(year, 11, _THU, 4) + dt.timedelta(days=1)}
    for eve in (dt.date(year, 7, 3), dt.date(year, 12, 24)):
        if eve.weekday() <= _THU:
            days.add(eve)
    return frozenset(days)


REGULAR_OPEN_MIN: Final = 570
"""09:30, in minutes after New York midnight."""
REGULAR_CLOSE_MIN: Final = 960
"""16:00, in minutes after New York midnight."""
EARLY_CLOSE_MIN: Final = 780
"""13:00, the close of an early-close day."""


def regular_sessions(
    start: dt.date, end: dt.date
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The regular sessions of the NYSE trading days in ``[start, end]``.

    Returns:
        Per trading day, ascending: its New York midnight, its 09:30 open and its close (16:00,
        or 13:00 on an early close), all as UTC epoch milliseconds.

    >>> midnight, open_, close = regular_sessions(dt.date(2024, 11, 29), dt.date(2024, 11, 29))
    >>> (open_ - midnight).tolist(), (close - midnight).tolist()
    ([34200000], [46800000])
    """
    days = trading_days(start, end).astype(np.int64)
    midnight = ny_midnight_ms(days)
    early = np.array(
        sorted(e for year in range(start.year, end.year + 1) for e in early_closes(year)),
        dtype="datetime64[D]",
    ).astype(np.int64)
    close_min = np.where(is_member(days, early), EARLY_CLOSE_MIN, REGULAR_CLOSE_MIN)
    return midnight, midnight + REGULAR_OPEN_MIN * 60_000, midnight + close_min * 60_000


def is_trading_day(day: dt.date) -> bool:
    """Whether the NYSE holds a regular session on ``day``.

    >>> is_trading_day(dt.date(2024, 3, 29)), is_trading_day(dt.date(2024, 4, 1))
    (False, True)
    """
    return day.weekday() < _SAT and day not in nyse_holidays(day.year)


def trading_days(start: dt.date, end: dt.date) -> npt.NDArray[np.datetime64]:
    """The NYSE trading days in ``[start, end]``, ascending, as ``datetime64[D]``.

    >>> trading_days(dt.date(2024, 7, 3), dt.date(2024, 7, 8)).tolist()
    [datetime.date(2024, 7, 3), datetime.date(2024, 7, 5), datetime.date(2024, 7, 8)]
    """
    if end < start:
        return np.empty(0, dtype="datetime64[D]")
    days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    holidays = np.array(
        sorted(h for year in range(start.year, end.year + 1) for h in nyse_holidays(year)),
        dtype="datetime64[D]",
    )
    return days[(weekday < _SAT) & ~is_member(days, holidays)]


def is_member(values: npt.NDArray[_T], sorted_set: npt.NDArray[_T]) -> npt.NDArray[np.bool_]:
    """Whether each value is in ``sorted_set`` (ascending); ``np.isin`` without its ``numpy.ma`` import.

    >>> is_member(np.array([1, 2, 5]), np.array([2, 5, 7])).tolist()
    [False, True, True]
    """
    if sorted_set.size == 0:
        return np.zeros(values.shape, dtype=np.bool_)
    index = np.minimum(np.searchsorted(sorted_set, values), sorted_set.size - 1)
    return np.asarray(sorted_set[index] == values)


@cache
def _year_offsets_ms(year: int) -> npt.NDArray[np.int64]:
    """Milliseconds to add to each New York local midnight of ``year`` to get UTC."""
    first = dt.date(year, 1, 1)
    count = (dt.date(year + 1, 1, 1) - first).days
    offsets = np.empty(count, dtype=np.int64)
    for i in range(count):
        local = dt.datetime.combine(first + dt.timedelta(days=i), dt.time(), NEW_YORK)
        offset = local.utcoffset()
        assert offset is not None  # a ZoneInfo always knows its offset
        offsets[i] = -int(offset.total_seconds()) * 1000
    offsets.flags.writeable = False
    return offsets


def ny_midnight_ms(days: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """UTC epoch milliseconds of 00:00 New York time on each day (given as days since 1970-01-01).

    US clocks change at 02:00 on a Sunday, so one offset holds from 00:00 to 24:00 of every
    weekday: a trading day's whole 04:00-20:00 session shares its midnight's offset.

    >>> ny_midnight_ms(np.array([19723, 19905])).tolist()  # 2024-01-01 (EST), 2024-07-01 (EDT)
    [1704085200000, 1719806400000]
    """
    years = days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    out = days.astype(np.int64) * DAY_MS
    for year in range(int(years.min(initial=1970)), int(years.max(initial=1969)) + 1):
        selected = years == year
        first = np.datetime64(f"{year:04d}-01-01", "D").astype(np.int64)
        out[selected] += _year_offsets_ms(year)[days[selected] - first]
    return out


_MONTHS_PER: Final[dict[str, int]] = {"month": 1, "quarter": 3, "year": 12}


def bucket_starts(
    days: npt.NDArray[np.int64], multiplier: int, timespan: Timespan, anchor: int
) -> npt.NDArray[np.int64]:
    """The first calendar day of the ``multiplier``-``timespan`` bucket holding each day.

    Days are counted from 1970-01-01. ``day`` and ``week`` buckets are counted from ``anchor``
    (a Monday, so weeks start on Mondays); ``month``, ``quarter`` and ``year`` buckets from
    year 0, so 3 months are the quarters and 12 months the years.

    >>> monday = 10959  # 2000-01-03
    >>> days = np.array([19727, 19731])  # 2024-01-05 (Fri), 2024-01-09 (Tue)
    >>> bucket_starts(days, 1, "week", monday).astype("datetime64[D]").astype(str).tolist()
    ['2024-01-01', '2024-01-08']
    >>> bucket_starts(days, 1, "quarter", monday).astype("datetime64[D]").astype(str).tolist()
    ['2024-01-01', '2024-01-01']
    """
    if timespan in ("day", "week"):
        width = multiplier * (7 if timespan == "week" else 1)
        return anchor + (days - anchor) // width * width
    months = multiplier * _MONTHS_PER[timespan]
    absolute = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) + 1970 * 12
    first = absolute // months * months - 1970 * 12
    return first.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def next_bucket_start(day: int, multiplier: int, timespan: Timespan, anchor: int) -> int:
    """The first day of the bucket after the one holding ``day`` (see :func:`bucket_starts`).

    >>> str(np.datetime64(next_bucket_start(19727, 1, "month", 10959), "D"))
    '2024-02-01'
    """
    start = int(bucket_starts(np.array([day], dtype=np.int64), multiplier, timespan, anchor)[0])
    if timespan in ("day", "week"):
        return start + multiplier * (7 if timespan == "week" else 1)
    month = np.datetime64(start, "D").astype("datetime64[M]") + multiplier * _MONTHS_PER[timespan]
    return int(month.astype("datetime64[D]").astype(np.int64))
