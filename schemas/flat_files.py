"""Loading Polygon's flat files: the request and what a load reports."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from schemas.values import FIRST_DAY, LAST_DAY, SUPPORTED_TIMES, Symbol

FlatFileTimespan = Literal["minute", "day"]
"""The aggregate flat files: ``minute_aggs_v1`` or ``day_aggs_v1``."""

FlatFileSource = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
"""A local directory or an ``s3://bucket/prefix`` URL holding ``us_stocks_sip/``."""


class FlatFileRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/v1/stocks/flat-files``: load day files of Polygon's stock aggregates.

    Flat files hold raw (unadjusted) prices, so the bars are stored as unadjusted series with
    source ``polygon``; each symbol becomes a dataset. Without ``symbols`` every ticker is loaded;
    without ``from``/``to`` every file found is.
    """

    source: FlatFileSource
    timespan: FlatFileTimespan = "day"
    symbols: Annotated[list[Symbol], msgspec.Meta(min_length=1, max_length=10_000)] | None = None
    from_: dt.date | None = msgspec.field(default=None, name="from")
    to: dt.date | None = None

    def __post_init__(self) -> None:
        """Reject an inverted range and normalise symbols."""
        if self.from_ is not None and self.to is not None and self.to < self.from_:
            raise ValueError("'to' is before 'from'")
        for name, day in (("from", self.from_), ("to", self.to)):
            if day is not None and not FIRST_DAY <= day <= LAST_DAY:
                raise ValueError(f"'{name}' ({day}) is outside the supported times, {SUPPORTED_TIMES}")
        if self.symbols is not None:
            self.symbols = sorted({symbol.upper() for symbol in self.symbols})


class FlatFileFailure(msgspec.Struct, kw_only=True):
    """A file that stored nothing, and why."""

    file: str
    error: str


class FlatFileProgress(msgspec.Struct, kw_only=True):
    """How far a flat-file load has come."""

    files_done: int = 0
    files_total: int = 0
    bars: int = 0
    """Bars stored so far."""
    current: str | None = None
    """The file being loaded."""
    failures: list[FlatFileFailure] = msgspec.field(default_factory=list)
