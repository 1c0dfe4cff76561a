"""Datasets ("tables"): named views over the bar store, and the fetch request that makes them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from schemas.values import SourceName, Symbol, Timespan

Multiplier = Annotated[int, msgspec.Meta(ge=1, le=10_000)]


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


class FetchRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/v1/stocks/fetch``: fetch bars for symbols and register datasets."""

    symbols: Annotated[list[Symbol], msgspec.Meta(min_length=1, max_length=1000)]
    timespan: Timespan = "day"
    multiplier: Multiplier = 1
    from_: dt.date = msgspec.field(name="from")
    to: dt.date
    adjusted: bool = True
    source: SourceName = "polygon"

    def __post_init__(self) -> None:
        """Reject an inverted range and normalise symbols."""
        if self.to < self.from_:
            raise ValueError("'to' is before 'from'")
        self.symbols = sorted({symbol.upper() for symbol in self.symbols})


class DeletedDataset(msgspec.Struct, kw_only=True):
    """Answer of ``DELETE /api/v1/stocks/table/{table}``."""

    table: str
    bars_deleted: int
