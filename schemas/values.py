"""Validated value types and the closed vocabularies of K2 Quant.

Every vocabulary (timeframes, timespans, sources, job states) is a ``Literal`` alias here, so
that one place says what the platform accepts.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Final, Literal, get_args
from zoneinfo import ZoneInfo

import msgspec

Timeframe = Literal["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w", "1M"]
"""A chart timeframe: the bar width a chart asks for."""

Timespan = Literal["second", "minute", "hour", "day", "week", "month", "quarter", "year"]
"""A Polygon aggregate timespan; with a multiplier it names a stored series."""

SourceName = Literal["polygon", "synthetic", "file"]
"""Where bars come from. ``synthetic`` is generated demo data, never market data; ``file`` was imported
from a user's CSV or Parquet file."""

FetchSourceName = Literal["polygon", "synthetic"]
"""The sources a fetch can pull from (``file`` bars arrive through an import instead)."""

SortOrder = Literal["asc", "desc"]

Session = Literal["extended", "regular"]
"""Which bars of a trading day: ``regular`` is 09:30–16:00 New York; ``extended`` adds 04:00–20:00."""

ExportFormat = Literal["parquet", "arrow", "csv", "json"]

JobState = Literal["queued", "running", "complete", "failed", "cancelled"]

EXCHANGE_TZ: Final = "America/New_York"
"""The exchange's time zone: sessions, trading days and chart buckets are New York wall-clock time."""
NEW_YORK: Final = ZoneInfo(EXCHANGE_TZ)

BARS_FROM: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
"""The earliest bar start stored (Unix time zero: Polygon and most files stamp bars in epoch time)."""
BARS_UNTIL: Final = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
"""Bars start before this instant. Every type on the path holds the range with room to spare
(ClickHouse ``DateTime64`` runs to 2299, ``Date`` to 2149, Python dates to 9999), and a bar
stamped later is a mistake in its file, not market data."""
FIRST_DAY: Final = BARS_FROM.date()
LAST_DAY: Final = (BARS_UNTIL - dt.timedelta(days=1)).date()
SUPPORTED_TIMES: Final = f"{FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()} (UTC)"
"""The supported range in words, for error messages."""

TIMEFRAMES: Final[tuple[Timeframe, ...]] = get_args(Timeframe)
TIMESPANS: Final[tuple[Timespan, ...]] = get_args(Timespan)

SYMBOL_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9.:\-]{0,19}$"
Symbol = Annotated[str, msgspec.Meta(pattern=SYMBOL_PATTERN, min_length=1, max_length=20)]
"""A ticker as Polygon spells it (``AAPL``, ``BRK.A``, ``X:BTCUSD``, ``I:SPX``); upper-cased on input."""

DATASET_PATTERN: Final = r"^[a-z0-9][a-z0-9_\-]{0,119}$"
DatasetName = Annotated[str, msgspec.Meta(pattern=DATASET_PATTERN, min_length=1, max_length=120)]
"""A dataset ("table") name: lower-case letters, digits, ``_`` and ``-``."""

_SYMBOL_RE: Final = re.compile(SYMBOL_PATTERN)
_DATASET_RE: Final = re.compile(DATASET_PATTERN)

_UNIT_CODE: Final[dict[Timespan, str]] = {
    "second": "s",
    "minute": "m",
    "hour": "h",
    "day": "d",
    "week": "w",
    "month": "M",
    "quarter": "Q",
    "year": "y",
}
_CODE_UNIT: Final[dict[str, Timespan]] = {code: unit for unit, code in _UNIT_CODE.items()}

_FIXED_MS: Final[dict[str, int]] = {
    "s": 1_000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 7 * 86_400_000,
}
_MONTHS: Final[dict[str, int]] = {"M": 1, "Q": 3, "y": 12}


def normalize_symbol(raw: str) -> str:
    """Return ``raw`` upper-cased and checked against :data:`SYMBOL_PATTERN`.

    >>> normalize_symbol(" aapl ")
    'AAPL'
    """
    symbol = raw.strip().upper()
    if not _SYMBOL_RE.match(symbol) or not symbol.isascii():
        raise ValueError(f"not a valid ticker symbol: {raw!r}")
    return symbol


def is_dataset_name(name: str) -> bool:
    """Whether ``name`` is a well-formed dataset name."""
    return bool(_DATASET_RE.match(name))


def series_code(multiplier: int, timespan: Timespan) -> str:
    """Return the code of a stored series' bar width, e.g. ``5m``, ``1h``, ``1d``, ``1M``.

    >>> series_code(5, "minute")
    '5m'
    """
    if multiplier < 1:
        raise ValueError("multiplier must be at least 1")
    return f"{multiplier}{_UNIT_CODE[timespan]}"


def parse_series_code(code: str) -> tuple[int, Timespan]:
    """Split a series or timeframe code into ``(multiplier, timespan)``.

    >>> parse_series_code("15m")
    (15, 'minute')
    """
    match = re.fullmatch(r"([1-9][0-9]{0,5})([smhdwMQy])", code)
    if match is None:
        raise ValueError(f"not a bar width code: {code!r}")
    return int(match.group(1)), _CODE_UNIT[match.group(2)]


class BarWidth(msgspec.Struct, frozen=True):
    """A bar width: a fixed number of milliseconds or a number of calendar months."""

    fixed_ms: int = 0
    months: int = 0

    @classmethod
    def of(cls, code: str) -> BarWidth:
        """Width of a series or timeframe code.

        >>> BarWidth.of("1h").fixed_ms
        3600000
        """
        multiplier, timespan = parse_series_code(code)
        unit = _UNIT_CODE[timespan]
        if unit in _MONTHS:
            return cls(months=multiplier * _MONTHS[unit])
        return cls(fixed_ms=multiplier * _FIXED_MS[unit])

    @property
    def approx_ms(self) -> int:
        """Width in milliseconds, counting a month as 30.44 days (for budgets, not bucketing)."""
        return self.fixed_ms or int(self.months * 30.44 * 86_400_000)

    @property
    def is_intraday(self) -> bool:
        """Whether bars are narrower than a calendar day."""
        return 0 < self.fixed_ms < 86_400_000

    def divides(self, wider: BarWidth) -> bool:
        """Whether bars of this width tile bars of ``wider`` exactly (in exchange-local time).

        >>> BarWidth.of("1d").divides(BarWidth.of("1M"))
        True
        """
        if wider.months:
            if self.months:
                return wider.months % self.months == 0
            return 0 < self.fixed_ms <= 86_400_000 and 86_400_000 % self.fixed_ms == 0
        return self.fixed_ms > 0 and wider.fixed_ms % self.fixed_ms == 0


TimePoint = str | int
"""An instant as given by a client: ISO-8601 date or date-time (UTC without offset), or epoch ms."""


def parse_time_point(value: TimePoint, *, end_of_day: bool = False) -> dt.datetime:
    """Parse a client time point into an aware UTC datetime within the supported range.

    A bare date means the start of that UTC day, or its last millisecond when ``end_of_day``.

    >>> parse_time_point("2024-01-02")
    datetime.datetime(2024, 1, 2, 0, 0, tzinfo=datetime.timezone.utc)
    >>> parse_time_point(1704153600000)
    datetime.datetime(2024, 1, 2, 0, 0, tzinfo=datetime.timezone.utc)
    >>> parse_time_point("9999-12-31T23:59:59-14:00")
    Traceback (most recent call last):
    ValueError: '9999-12-31T23:59:59-14:00' is outside the supported times, 1970-01-01 to 2099-12-31 (UTC)

    Raises:
        ValueError: the value is not a time, or lies outside :data:`SUPPORTED_TIMES`.
    """
    moment = _parse_time_point(value, end_of_day=end_of_day)
    if not BARS_FROM <= moment < BARS_UNTIL:
        raise ValueError(f"{value!r} is outside the supported times, {SUPPORTED_TIMES}")
    return moment


def _parse_time_point(value: TimePoint, *, end_of_day: bool) -> dt.datetime:
    if isinstance(value, bool):
        raise ValueError("a time must be an ISO-8601 string or epoch milliseconds")
    if isinstance(value, int):
        if not -62_135_596_800_000 < value < 253_402_300_800_000:
            raise ValueError(f"{value!r} is outside the supported times, {SUPPORTED_TIMES}")
        return dt.datetime.fromtimestamp(value / 1000, dt.UTC)
    text = value.strip()
    if re.fullmatch(r"-?\d{10,15}", text):
        return _parse_time_point(int(text), end_of_day=end_of_day)
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day, dt.time(), dt.UTC)
            return moment + dt.timedelta(days=1, milliseconds=-1) if end_of_day else moment
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not an ISO-8601 date or date-time, nor epoch milliseconds: {value!r}") from None
    except OverflowError:
        raise ValueError(f"{value!r} is outside the supported times, {SUPPORTED_TIMES}") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-14:00 is in year 10000 in UTC
        raise ValueError(f"{value!r} is outside the supported times, {SUPPORTED_TIMES}") from None
