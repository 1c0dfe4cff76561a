"""Bucket widths for chart slices and the ClickHouse expressions that align bars to them.

Buckets are aligned in exchange-local time (America/New_York): a ``1d`` bucket is a New York
calendar day, ``4h`` buckets start at 00:00, 04:00, 08:00 … New York time, ``1w`` starts on
Monday. Every width in :data:`LADDER` is a union of whole buckets of each narrower width that
tiles it, which lets a slice be built at a fine width in SQL and coarsened exactly afterwards.
"""

from __future__ import annotations

from typing import Final

from schemas.values import EXCHANGE_TZ, BarWidth

LADDER: Final[tuple[str, ...]] = (
    "1m", "2m", "3m", "5m", "10m", "15m", "30m",
    "1h", "2h", "4h",
    "1d", "1w", "1M", "3M", "12M",
)  # fmt: skip
"""Bucket widths a chart slice may use, finest first."""

_INTERVAL_UNIT: Final = {"m": "MINUTE", "h": "HOUR"}


def bucket_sql(code: str, column: str) -> str:
    """SQL for the start of the ``code``-wide bucket holding ``column``, as ``DateTime64(3, 'UTC')``.

    ``code`` must be in :data:`LADDER` (or ``1s``-style widths of whole seconds never reach here);
    ``column`` must be a trusted identifier.

    >>> bucket_sql("1d", "ts")
    "toTimeZone(toDateTime64(toStartOfDay(ts, 'America/New_York'), 3, 'America/New_York'), 'UTC')"
    """
    if code not in LADDER:
        raise ValueError(f"not a chart bucket width: {code!r}")
    count, unit = int(code[:-1]), code[-1]
    tz = f"'{EXCHANGE_TZ}'"
    if unit in _INTERVAL_UNIT:
        local = f"toStartOfInterval({column}, INTERVAL {count} {_INTERVAL_UNIT[unit]}, {tz})"
    elif code == "1d":
        local = f"toStartOfDay({column}, {tz})"
    elif code == "1w":
        local = f"toMonday({column}, {tz})"
    elif code == "1M":
        local = f"toStartOfMonth({column}, {tz})"
    elif code == "3M":
        local = f"toStartOfQuarter({column}, {tz})"
    else:
        local = f"toStartOfYear({column}, {tz})"
    return f"toTimeZone(toDateTime64({local}, 3, {tz}), 'UTC')"


def tiles(narrow: str, wide: str) -> bool:
    """Whether buckets of width ``narrow`` tile buckets of width ``wide`` exactly.

    >>> tiles("1d", "1w"), tiles("1w", "1M"), tiles("5m", "1h")
    (True, False, True)
    """
    return BarWidth.of(narrow).divides(BarWidth.of(wide))


def ladder_from(timeframe: str) -> tuple[str, ...]:
    """The ladder widths a slice at ``timeframe`` may be widened to (``timeframe`` first).

    >>> ladder_from("1w")
    ('1w',)
    """
    return tuple(code for code in LADDER if tiles(timeframe, code))
