"""Datasets ("tables"): named views over the bar store, and the fetch request that makes them."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Final

import msgspec

from schemas.bars import SeriesKey
from schemas.quality import DataQuality
from schemas.values import (
    BARS_FROM,
    BARS_UNTIL,
    FIRST_DAY,
    LAST_DAY,
    NEW_YORK,
    SUPPORTED_TIMES,
    FetchSourceName,
    SourceName,
    Symbol,
    Timespan,
)

Multiplier = Annotated[int, msgspec.Meta(ge=1, le=10_000)]

EARLIEST_DATE: Final = FIRST_DAY
"""The earliest day a fetch may ask for (Polygon stamps bars in Unix milliseconds)."""


class DateRange(msgspec.Struct, kw_only=True):
    """An inclusive range of dates."""

    from_: dt.date = msgspec.field(name="from")
    to: dt.date


class Dataset(msgspec.Struct, kw_only=True):
    """A dataset as ``GET /api/v1/stocks/tables`` lists it.

    ``date_range`` is the range that was asked for; ``first_bar``/``last_bar`` bound what is
    stored. ``source`` says where the bars came from: ``synthetic`` data is generated, not market
    data.
    """

    table: str
    symbol: str
    timespan: Timespan
    multiplier: int
    adjusted: bool
    source: SourceName
    total_records: int
    date_range: DateRange
    first_bar: dt.datetime | None
    last_bar: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    last_accessed: dt.datetime | None
    quality: DataQuality | None = None
    """The last data-quality assessment (``None`` until the dataset is assessed)."""


class FetchRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/v1/stocks/fetch``: fetch bars for symbols and register datasets.

    Name ``symbols``, or set ``market`` for every US stock's daily bars (Polygon's grouped-daily
    endpoint: one request per trading day); each ticker becomes a dataset either way.
    """

    symbols: Annotated[list[Symbol], msgspec.Meta(max_length=1000)] = msgspec.field(default_factory=list)
    market: bool = False
    """Every US stock instead of ``symbols`` (daily bars only)."""
    timespan: Timespan = "day"
    multiplier: Multiplier = 1
    from_: dt.date = msgspec.field(name="from")
    to: dt.date
    adjusted: bool = True
    source: FetchSourceName = "polygon"

    def __post_init__(self) -> None:
        """Reject an inverted range, a market fetch that is not daily, and normalise symbols."""
        if self.to < self.from_:
            raise ValueError(f"'to' ({self.to}) is before 'from' ({self.from_})")
        if self.from_ < EARLIEST_DATE:
            raise ValueError(f"'from' ({self.from_}) is before {EARLIEST_DATE}: no market data is that old")
        if self.to > LAST_DAY:
            raise ValueError(f"'to' ({self.to}) is after {LAST_DAY}: bars are stored from {SUPPORTED_TIMES}")
        if self.market:
            if self.symbols:
                raise ValueError("name symbols or set market, not both")
            if self.timespan != "day" or self.multiplier != 1:
                raise ValueError("a whole-market fetch is of daily bars: timespan 'day', multiplier 1")
        elif not self.symbols:
            raise ValueError("name at least one symbol (or set market for every US stock)")
        self.symbols = sorted({symbol.upper() for symbol in self.symbols})


class DeletedDataset(msgspec.Struct, kw_only=True):
    """Answer of ``DELETE /api/v1/stocks/table/{table}``."""

    table: str
    bars_deleted: int


def dataset_name(
    symbol: str, multiplier: int, timespan: Timespan, start: dt.date, end: dt.date, adjusted: bool
) -> str:
    """The name a fetch gives its dataset.

    >>> dataset_name("BRK.A", 1, "day", dt.date(2024, 1, 1), dt.date(2024, 12, 31), True)
    'brk-a_1day_2024-01-01_2024-12-31'
    """
    slug = re.sub(r"[^a-z0-9]+", "-", symbol.lower()).strip("-")
    name = f"{slug}_{multiplier}{timespan}_{start.isoformat()}_{end.isoformat()}"
    return name if adjusted else f"{name}_raw"


def exchange_day_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """UTC instants bounding New York calendar days ``start``..``end`` (inclusive)."""
    first = dt.datetime.combine(start, dt.time(), NEW_YORK).astimezone(dt.UTC)
    after = dt.datetime.combine(min(end, dt.date.max - dt.timedelta(days=1)), dt.time(), NEW_YORK)
    after = (after + dt.timedelta(days=1)).astimezone(dt.UTC)
    return first, after - dt.timedelta(milliseconds=1)


def outside_supported_times(dataset: Dataset) -> tuple[bool, bool]:
    """Whether ``dataset``'s first bar is before, and its last bar after, the supported times.

    Only datasets stored before the limits were enforced can be.
    """
    early = dataset.first_bar is not None and dataset.first_bar < BARS_FROM
    late = dataset.last_bar is not None and dataset.last_bar >= BARS_UNTIL
    return early, late


def series_of(dataset: Dataset) -> SeriesKey:
    """The stored series a dataset is a view of."""
    return SeriesKey(
        symbol=dataset.symbol,
        multiplier=dataset.multiplier,
        timespan=dataset.timespan,
        adjusted=dataset.adjusted,
    )
