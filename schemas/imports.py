"""Imports of a user's own bars: the options of ``POST /api/v1/stocks/import`` and what it answers.

A file holds one series: a timestamp column and OHLCV columns (names matched case-insensitively,
with common aliases). How its timestamps are read:

* **day bars** name an exchange day: a date, the date part of a date-time as written (at its own
  offset, if any), or the UTC date of an epoch number (New York and UTC midnight fall on the same
  UTC date). The bar is stored at 00:00 New York time of that day, as every source stores them.
* **minute and hour bars**: epoch numbers and date-times with an offset (``Z``, ``-05:00``) are
  instants; date-times without one are wall-clock times in ``tz`` (default New York, the exchange's
  zone). Bars must start on a whole minute.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Annotated, Final, Literal

import msgspec

from schemas.datasets import Dataset, Multiplier
from schemas.values import EXCHANGE_TZ, Symbol

ImportTimespan = Literal["minute", "hour", "day"]
"""The bar widths a file can hold."""

EpochUnit = Literal["auto", "s", "ms", "us", "ns"]
"""Unit of numeric timestamps; ``auto`` tells it from their magnitude (see :data:`EPOCH_UNIT_BOUNDS`)."""

ImportFormat = Literal["csv", "parquet"]

DEFAULT_IMPORT_TZ: Final = EXCHANGE_TZ

MAX_IMPORT_BYTES: Final = 512 * 1024 * 1024
"""Largest file an import accepts (512 MiB: about eight million minute bars as CSV)."""

MAX_COLUMNS: Final = 200
"""Most columns an imported file may have (bar files have a dozen; the reader's work grows with the
square of the column count, so a file of 100,000 columns would hold both cores for many minutes)."""
MAX_HEADER_BYTES: Final = 65_536
"""Longest header line of a CSV file, checked before anything else is read."""

MAX_REPORTED_PROBLEMS: Final = 20
"""A rejected import lists at most this many problems (and counts them all)."""

EPOCH_UNIT_BOUNDS: Final[tuple[tuple[float, EpochUnit], ...]] = (
    (1e11, "s"),
    (1e14, "ms"),
    (1e17, "us"),
)
"""``auto``: the largest magnitude in the column below 1e11 means seconds, below 1e14 milliseconds,
below 1e17 microseconds, and nanoseconds above (each bound is the year 5138 in the smaller unit)."""

TimeZoneName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+\-/]+$")]


class ImportOptions(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """What a file holds: whose bars, how wide, and how to read its timestamps."""

    symbol: Symbol
    timespan: ImportTimespan
    multiplier: Multiplier = 1
    tz: TimeZoneName = DEFAULT_IMPORT_TZ
    """IANA zone of date-times written without an offset (intraday bars only)."""
    adjusted: bool = True
    """Whether the file's prices are split-adjusted (they join that series)."""
    epoch_unit: EpochUnit = "auto"

    def __post_init__(self) -> None:
        """Upper-case the symbol and check the time zone exists."""
        msgspec.structs.force_setattr(self, "symbol", self.symbol.upper())
        try:
            zoneinfo.ZoneInfo(self.tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {self.tz!r} (use an IANA name such as America/New_York or UTC)"
            ) from None


class ImportProblem(msgspec.Struct, frozen=True, kw_only=True):
    """One thing wrong with a file.

    ``line`` is the CSV file line (the header is line 1); in a Parquet file it is the row number,
    counting the first row as 1. It is None for problems of the whole file (a missing column).
    """

    line: int | None
    column: str | None
    message: str


class ImportSummary(msgspec.Struct, kw_only=True):
    """What an import read and stored."""

    format: ImportFormat
    rows: int
    """Data rows read (blank lines not counted)."""
    bars: int
    """Distinct bars stored from the file."""
    duplicates_dropped: int
    """Rows that repeated another row exactly (same timestamp, same values) and were stored once."""
    first_bar: dt.datetime
    last_bar: dt.datetime
    columns: dict[str, str]
    """Which file column each field came from, e.g. ``{"ts": "Date", "open": "o"}``."""
    ignored_columns: list[str]
    timestamps: str
    """How the timestamps were read, in words (e.g. ``epoch milliseconds``)."""
    warnings: list[str]


class ImportResult(msgspec.Struct, kw_only=True):
    """Answer of a successful import: the dataset it registered and what it read."""

    dataset: Dataset
    summary: ImportSummary


class ImportRejection(msgspec.Struct, kw_only=True):
    """The problem-details body of a rejected import (HTTP 422): nothing was stored."""

    title: str
    status: int
    detail: str
    format: ImportFormat | None
    problems: list[ImportProblem]
    """The first :data:`MAX_REPORTED_PROBLEMS` problems, in file order."""
    problem_count: int
    """How many problems the file has in all."""
