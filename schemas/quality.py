"""Data quality of a dataset: coverage of the exchange calendar, gaps, duplicates, bad bars."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

QualityBasis = Literal["regular_session", "trading_days"]
"""What ``expected`` counts.

``regular_session``: for intraday bars, the bar slots that overlap the NYSE regular session
(09:30-16:00 New York time, 13:00 on early closes) on trading days. Polygon sends a minute bar
only for a minute with trades, so pre- and after-market minutes (04:00-09:30, 16:00-20:00) are
often empty even in complete data: they are stored and counted in ``bars`` but never expected.
``trading_days``: for daily and wider bars, the bars (days, weeks, months ...) that hold at least
one NYSE trading day.
"""


class Gap(msgspec.Struct, frozen=True, kw_only=True):
    """A run of consecutive expected bars that are missing."""

    start: dt.datetime
    """Start of the first missing bar."""
    end: dt.datetime
    """End of the last missing bar (exclusive; for intraday bars at most that day's close)."""
    missing: int
    """How many expected bars the run holds."""


class OhlcViolations(msgspec.Struct, frozen=True, kw_only=True):
    """Bars breaking each OHLC rule (a bar may break several)."""

    high_below_body: int = 0
    """``high < max(open, close)``."""
    low_above_body: int = 0
    """``low > min(open, close)``."""
    high_below_low: int = 0
    """``high < low``."""
    non_positive: int = 0
    """A price that is not a positive finite number."""


class DataQuality(msgspec.Struct, kw_only=True):
    """How complete and how sound a dataset's stored bars are, as last assessed.

    Assessed over the dataset's date range (New York calendar days), up to the moment of the
    assessment: sessions that had not ended yet are not expected.
    """

    basis: QualityBasis
    bars: int
    """Distinct bars stored in the range (extended-hours bars included)."""
    expected: int
    """Bars the exchange calendar expects in the range (see :data:`QualityBasis`)."""
    present: int
    """Expected bars that are stored."""
    coverage: float | None
    """``present / expected``; ``None`` when nothing is expected (a range without a session)."""
    gaps: int
    """Runs of consecutive missing expected bars."""
    missing: int
    """Expected bars that are missing (``expected - present``)."""
    largest_gaps: list[Gap]
    """The largest gaps, largest first (at most five)."""
    duplicates_dropped: int | None
    """Bars the last fetch received that added no new bar (re-sent or already stored); ``None``
    when the dataset was assessed without a fetch."""
    zero_volume_bars: int
    """Stored bars with zero volume (Polygon sends no bar for a minute without trades)."""
    zero_volume_runs: int
    """Runs of consecutive stored bars with zero volume."""
    ohlc_violations: int
    """Bars breaking at least one OHLC rule."""
    ohlc: OhlcViolations
    """Bars breaking each rule."""
    window_start: dt.datetime
    """First instant assessed (New York midnight of the range's first day)."""
    window_end: dt.datetime
    """Last instant assessed (the range's end, or the assessment time if earlier)."""
    assessed_at: dt.datetime


class DataQualityReport(msgspec.Struct, kw_only=True):
    """Answer of ``GET /api/v1/stocks/table/{table}/quality``: the quality and its gaps in a window."""

    table: str
    quality: DataQuality
    gaps: list[Gap]
    """Gaps overlapping the window asked for, oldest first."""
    truncated: bool
    """More gaps overlap the window than ``limit``: only the first ``limit`` are listed."""
