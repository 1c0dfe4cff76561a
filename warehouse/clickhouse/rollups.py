"""Rollups: intraday series pre-aggregated to 30-minute and daily buckets, kept exact on every change.

Long chart windows read a few rows per day from ``bar_rollups`` instead of every minute bar. The
rollups are not materialized views: a view sees inserted blocks, so a re-fetched bar would be
counted twice and a corrected one would keep its old high and low. Instead every write marks the
New York days it touched in ``rollup_dirty``, and :meth:`Rollups.refresh` rebuilds those days from
the deduplicated bars (``FINAL``) before a reader relies on them.

Both sessions stay exact: a 30-minute bucket lies wholly inside or outside 09:30–16:00, so the
regular session is a filter on bucket starts; daily rollups are kept per session.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

import pyarrow as pa
import pyarrow.compute as pc
from clickhouse_connect.driver.client import Client

from schemas.bars import TS_TYPE
from schemas.values import EXCHANGE_TZ, NEW_YORK, BarWidth
from warehouse.clickhouse.buckets import bucket_sql, tiles
from warehouse.clickhouse.ddl import BARS_TABLE, DAILY_OR_WIDER, ROLLUP_DIRTY_TABLE, ROLLUPS_TABLE

if TYPE_CHECKING:
    from schemas.bars import SeriesKey

ROLLUP_WIDTHS: Final = ("30m", "1d")
"""Widths rollups are kept at, narrowest first."""

REGULAR_MINUTES: Final = (570, 959)
"""First and last New York minute of the day (09:30, 15:59) a regular-session bar may start at."""

REGULAR_SESSION: Final = (
    f" AND toHour(ts, '{EXCHANGE_TZ}') * 60 + toMinute(ts, '{EXCHANGE_TZ}')"
    f" BETWEEN {REGULAR_MINUTES[0]} AND {REGULAR_MINUTES[1]}"
)
"""Keeps intraday bars (or 30-minute buckets) that start within 09:30–16:00 New York time."""

_SERIES: Final = "symbol = {symbol:String} AND timespan = {series:String} AND adjusted = {adjusted:Bool}"
_DAYS: Final = (
    " AND ts >= {lo:DateTime64(3, 'UTC')} AND ts < {hi:DateTime64(3, 'UTC')}"
    f" AND toDate32(ts, '{EXCHANGE_TZ}') IN {{days:Array(Date32)}}"
)
_AGGREGATES: Final = "argMin(open, ts), max(high), min(low), argMax(close, ts), sum(volume)"


def rollup_widths(series: str) -> tuple[str, ...]:
    """The rollup widths kept for a stored series: those it tiles and is narrower than.

    >>> rollup_widths("1m"), rollup_widths("30m"), rollup_widths("1d")
    (('30m', '1d'), ('1d',), ())
    """
    width = BarWidth.of(series)
    if not width.is_intraday:
        return ()
    return tuple(code for code in ROLLUP_WIDTHS if code != series and tiles(series, code))


def rollup_source(series: str, base: str) -> str | None:
    """The widest rollup that tiles the slice width ``base`` of ``series``, if any."""
    fitting = [code for code in rollup_widths(series) if tiles(code, base)]
    return fitting[-1] if fitting else None


def exchange_days(ts: pa.Array | pa.ChunkedArray) -> list[dt.date]:
    """The distinct New York calendar days of UTC timestamps."""
    local = pc.local_timestamp(ts.cast(TS_TYPE).cast(pa.timestamp("ms", tz=EXCHANGE_TZ)))
    days: list[dt.date] = pc.unique(local.cast(pa.date32())).to_pylist()
    return sorted(days)


def cut_points(width: str, start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The part ``[lo, hi)`` of the window ``[start, end]`` made of whole ``width`` buckets.

    New York's UTC offsets are whole hours, so 30-minute boundaries are the same in UTC; day
    boundaries are New York midnights.
    """
    after = end + dt.timedelta(milliseconds=1)
    if width == "30m":
        step = 30 * 60_000
        first = -(-epoch_ms(start) // step) * step
        last = epoch_ms(after) // step * step
        return _instant(first), _instant(last)
    local_start = start.astimezone(NEW_YORK)
    first_day = local_start.date() + dt.timedelta(days=0 if local_start.time() == dt.time() else 1)
    last_day = after.astimezone(NEW_YORK).date()
    return _midnight(first_day), _midnight(last_day)


class Rollups:
    """Builds and reads the rollups of intraday series (all calls run on the ClickHouse thread)."""

    @staticmethod
    def mark(client: Client, ref: SeriesKey, days: Sequence[dt.date], *, removed: bool = False) -> None:
        """Record that bars of ``ref`` changed on ``days`` (``removed``: some were deleted)."""
        if not days or not rollup_widths(ref.series):
            return
        rows = [[ref.symbol, ref.series, ref.adjusted, day, int(removed)] for day in days]
        client.insert(
            ROLLUP_DIRTY_TABLE, rows, column_names=["symbol", "timespan", "adjusted", "day", "removed"]
        )

    def refresh(self, client: Client, ref: SeriesKey) -> int:
        """Rebuild the rollups of ``ref`` on every day marked dirty; return how many days."""
        widths = rollup_widths(ref.series)
        if not widths:
            return 0
        series = {"symbol": ref.symbol, "series": ref.series, "adjusted": ref.adjusted}
        marks = client.query(
            f"SELECT day, max(removed), max(marked_at) FROM {ROLLUP_DIRTY_TABLE}"
            f" WHERE {_SERIES} GROUP BY day",
            parameters=series,
        ).result_rows
        if not marks:
            return 0
        days = sorted(row[0] for row in marks)
        removed = any(row[1] for row in marks)
        seen = max(row[2] for row in marks)
        built = dt.datetime.now(dt.UTC)
        params = series | {
            "days": days,
            "lo": _midnight(days[0]),
            "hi": _midnight(days[-1] + dt.timedelta(days=1)),
            "built": built,
        }
        selects = [
            f"SELECT symbol, timespan, adjusted, '{width}', '{session}',"
            f" {bucket_sql(width, 'ts')} AS b, {_AGGREGATES}, {{built:DateTime64(3, 'UTC')}}"
            f" FROM {BARS_TABLE} FINAL WHERE {_SERIES}{_DAYS}{regular}"
            " GROUP BY symbol, timespan, adjusted, b"
            for width in widths
            for session in (("extended", "regular") if width == "1d" else ("extended",))
            for regular in [REGULAR_SESSION if session == "regular" else ""]
        ]
        # One insert of every width and session: one new part per year, not one per width and session.
        client.command(
            f"INSERT INTO {ROLLUPS_TABLE} (symbol, timespan, adjusted, width, session, ts,"
            f" open, high, low, close, volume, built_at) {' UNION ALL '.join(selects)}",
            parameters=params,
        )
        if removed:  # buckets whose bars are all gone were not rewritten: drop them
            client.command(
                f"DELETE FROM {ROLLUPS_TABLE} WHERE {_SERIES}{_DAYS}"
                " AND built_at < {built:DateTime64(3, 'UTC')}",
                parameters=params,
            )
        client.command(
            f"DELETE FROM {ROLLUP_DIRTY_TABLE} WHERE {_SERIES}"
            " AND day IN {days:Array(Date32)} AND marked_at <= {seen:DateTime64(3, 'UTC')}",
            parameters=series | {"days": days, "seen": seen},
        )
        return len(days)

    @staticmethod
    def seed(client: Client) -> None:
        """Mark every day of every stored intraday series dirty (the rollup table was just created)."""
        client.command(
            f"INSERT INTO {ROLLUP_DIRTY_TABLE} (symbol, timespan, adjusted, day, removed)"
            f" SELECT DISTINCT symbol, timespan, adjusted, toDate32(ts, '{EXCHANGE_TZ}'), 0"
            f" FROM {BARS_TABLE} WHERE right(timespan, 1) NOT IN {DAILY_OR_WIDER!r}"
        )


def rollup_rows_sql(width: str, *, regular: bool) -> str:
    """Rows ``(t, o, h, l, c, v)`` of the ``width`` rollup inside ``[{mid_lo}, {mid_hi})``."""
    session = "regular" if regular and width == "1d" else "extended"
    where = (
        f"{_SERIES} AND width = '{width}' AND session = '{session}'"
        " AND ts >= {mid_lo:DateTime64(3, 'UTC')} AND ts < {mid_hi:DateTime64(3, 'UTC')}"
    )
    if regular and width == "30m":
        where += REGULAR_SESSION
    return (
        "SELECT ts AS t, open AS o, high AS h, low AS l, close AS c, volume AS v"
        f" FROM {ROLLUPS_TABLE} FINAL WHERE {where}"
    )


_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def epoch_ms(value: dt.datetime) -> int:
    """Milliseconds since the epoch of an aware instant (exact: no float rounding)."""
    return (value - _EPOCH) // dt.timedelta(milliseconds=1)


def _instant(ms: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(milliseconds=ms)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), NEW_YORK).astimezone(dt.UTC)
