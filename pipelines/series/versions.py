"""Series versions: tokens that change whenever a series' bars change, for ETags and caches.

Kept in Redis. Each series has a counter, bumped by every change: its token names the whole
series (ETags, the shared slice cache). A change that says which bars it touched also counts, per
UTC month, the months it reached, so caches of a month's bars (or of a year's rollups) stay valid
while new bars arrive elsewhere in the series: a live minute invalidates its own month, not a
decade. A change that names no span counts against every month.

Losing Redis loses nothing: a fresh random epoch starts new versions, so no token from before
the loss can match again.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from typing import Final

import msgspec
from redis.asyncio import Redis

from schemas.bars import SeriesKey
from schemas.values import BARS_FROM, BARS_UNTIL

_EPOCH_KEY: Final = "k2q:series-version-epoch"
_EVERY_MONTH: Final = "all"
_SPAN_MARGIN: Final = dt.timedelta(days=1)
"""Months are counted a day beyond a change's span: a New York evening bar is next month in UTC,
and its day's rollup row is this month."""

Span = tuple[dt.datetime, dt.datetime]
"""First and last instant of the bars a change touched."""


class SeriesVersion(msgspec.Struct, frozen=True, kw_only=True):
    """A series' version as read at one moment: the whole series' token and per-month counts."""

    token: str
    """Changes whenever any bar of the series changes."""
    epoch: str
    everywhere: int = 0
    """Changes that named no span (they count against every month)."""
    months: dict[int, int] = msgspec.field(default_factory=dict)
    """``YYYYMM`` (UTC) → changes whose span reached that month."""

    def month(self, year: int, month: int) -> str:
        """A token that changes whenever bars of this UTC month may have changed."""
        return f"{self.epoch}.{self.everywhere}.{self.months.get(year * 100 + month, 0)}"

    def year(self, year: int) -> str:
        """A token that changes whenever bars of this UTC year may have changed (counts only grow)."""
        count = sum(n for key, n in self.months.items() if key // 100 == year)
        return f"{self.epoch}.{self.everywhere}.{count}"

    @classmethod
    def fixed(cls, token: str) -> SeriesVersion:
        """A version with no counted changes: every month's token derives from ``token`` alone."""
        return cls(token=token, epoch=token)


def utc_months(first: dt.datetime, last: dt.datetime) -> list[tuple[int, int]]:
    """``(year, month)`` of every UTC month from the one holding ``first`` to the one holding ``last``.

    Naive datetimes are taken as UTC.

    >>> utc_months(dt.datetime(2023, 12, 5, tzinfo=dt.UTC), dt.datetime(2024, 2, 1))
    [(2023, 12), (2024, 1), (2024, 2)]
    """
    first, last = ((t if t.tzinfo else t.replace(tzinfo=dt.UTC)).astimezone(dt.UTC) for t in (first, last))
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    return [
        (first.year + (first.month - 1 + step) // 12, (first.month - 1 + step) % 12 + 1)
        for step in range(count)
    ]


def months_of(span: Span) -> list[int]:
    """``YYYYMM`` of every UTC month within a day of ``span``.

    >>> months_of((dt.datetime(2024, 1, 31, 12, tzinfo=dt.UTC), dt.datetime(2024, 3, 2, tzinfo=dt.UTC)))
    [202401, 202402, 202403]
    """
    return [year * 100 + month for year, month in utc_months(span[0] - _SPAN_MARGIN, span[1] + _SPAN_MARGIN)]


def _key(ref: SeriesKey) -> str:
    return f"k2q:series-version:{ref.symbol}:{ref.series}:{int(ref.adjusted)}"


def _months_key(ref: SeriesKey) -> str:
    return f"k2q:series-months:{ref.symbol}:{ref.series}:{int(ref.adjusted)}"


def _text(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


class SeriesVersions:
    """Per-series change counters."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def get(self, ref: SeriesKey) -> str:
        """The current token of ``ref``."""
        return (await self.current(ref)).token

    async def current(self, ref: SeriesKey) -> SeriesVersion:
        """The current version of ``ref`` with its per-month counts (one round trip: chart requests ask)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(_EPOCH_KEY, secrets.token_hex(8), nx=True)
            pipe.get(_EPOCH_KEY)
            pipe.get(_key(ref))
            pipe.hgetall(_months_key(ref))
            _, epoch, count, months = await pipe.execute()
        counts = {_text(field): int(value) for field, value in months.items()}
        return SeriesVersion(
            token=f"{_text(epoch)}.{int(count or 0)}",
            epoch=_text(epoch),
            everywhere=counts.pop(_EVERY_MONTH, 0),
            months={int(field): value for field, value in counts.items()},
        )

    async def bump(self, ref: SeriesKey, span: Span | None = None) -> None:
        """Record that ``ref``'s bars changed (within ``span``, when the caller knows it)."""
        await self.bump_many([ref], span)

    async def bump_many(self, refs: Iterable[SeriesKey], span: Span | None = None) -> None:
        """Record that the bars of every one of ``refs`` changed (within ``span``); one round trip.

        A span reaching outside the supported times (bars stored before the limits existed, being
        deleted) counts as a change everywhere.
        """
        within = span is not None and BARS_FROM <= span[0] and span[1] < BARS_UNTIL
        fields = [str(month) for month in months_of(span)] if span is not None and within else [_EVERY_MONTH]
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(_EPOCH_KEY, secrets.token_hex(8), nx=True)
            for ref in refs:
                pipe.incr(_key(ref))
                for field in fields:
                    pipe.hincrby(_months_key(ref), field, 1)
            await pipe.execute()
