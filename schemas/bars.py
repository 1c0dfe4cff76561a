"""Bars, chart slices and their Arrow schemas."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Final

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from schemas.values import (
    BARS_FROM,
    BARS_UNTIL,
    SUPPORTED_TIMES,
    BarWidth,
    DatasetName,
    Session,
    SourceName,
    Symbol,
    Timeframe,
    TimePoint,
    Timespan,
    parse_series_code,
    series_code,
)

TS_TYPE: Final = pa.timestamp("ms", tz="UTC")

BAR_ARROW_SCHEMA: Final = pa.schema(
    [
        pa.field("ts", TS_TYPE, nullable=False),
        pa.field("open", pa.float64(), nullable=False),
        pa.field("high", pa.float64(), nullable=False),
        pa.field("low", pa.float64(), nullable=False),
        pa.field("close", pa.float64(), nullable=False),
        pa.field("volume", pa.float64(), nullable=False),
        pa.field("vwap", pa.float64()),
        pa.field("transactions", pa.uint32()),
    ]
)
"""The columns a source yields for one series: ``ts`` is the bar's start, UTC, in ms."""

MAX_PRICE: Final = 1e9
"""The largest price accepted (a billion per share: far above any traded stock, far below where
sums and products of prices lose their precision)."""
MAX_VOLUME: Final = 1e15
"""The largest volume accepted for one bar."""
PRICE_FIELDS: Final = ("open", "high", "low", "close", "vwap")


def bar_value_problem(bars: pa.Table) -> str | None:
    """Why ``bars`` (columns of :data:`BAR_ARROW_SCHEMA`) cannot be stored, or None when they can.

    Every way in checks its bars against these limits (files say which line breaks them); this is
    the last check, in the one write path, for bars from a provider or a stream.

    >>> import datetime as dt
    >>> ts = pa.array([dt.datetime(2200, 1, 1, tzinfo=dt.UTC)], TS_TYPE)
    >>> one = pa.table({"ts": ts, **{n: [1.0] for n in ("open", "high", "low", "close", "volume")}})
    >>> bar_value_problem(one)
    'a bar starts at 2200-01-01 00:00:00+00:00, outside the supported times, 1970-01-01 to 2099-12-31 (UTC)'
    """
    if bars.num_rows == 0:
        return None
    ts = pc.min_max(bars.column("ts").cast(TS_TYPE))
    for bound in (ts["min"].as_py(), ts["max"].as_py()):
        if bound is not None and not BARS_FROM <= bound < BARS_UNTIL:
            return f"a bar starts at {bound}, outside the supported times, {SUPPORTED_TIMES}"
    for name in PRICE_FIELDS:
        if name not in bars.column_names:
            continue
        low, high = (value.as_py() for value in pc.min_max(bars.column(name)).values())
        if low is not None and not low > 0:
            return f"a bar's {name} is {low}: prices must be positive"
        if high is not None and not high <= MAX_PRICE:
            return f"a bar's {name} is {high}: prices must be at most {MAX_PRICE:g}"
    if "volume" in bars.column_names:
        low, high = (value.as_py() for value in pc.min_max(bars.column("volume")).values())
        if low is not None and not 0 <= low:
            return f"a bar's volume is {low}: volumes must not be negative"
        if high is not None and not high <= MAX_VOLUME:
            return f"a bar's volume is {high}: volumes must be at most {MAX_VOLUME:g}"
    return None


CHART_SLICE_ARROW_SCHEMA: Final = pa.schema(
    [
        pa.field("ts", TS_TYPE, nullable=False),
        pa.field("open", pa.float64(), nullable=False),
        pa.field("high", pa.float64(), nullable=False),
        pa.field("low", pa.float64(), nullable=False),
        pa.field("close", pa.float64(), nullable=False),
        pa.field("volume", pa.float64(), nullable=False),
    ]
)
"""The leading columns of every chart slice; later capabilities append columns after these."""

ARROW_STREAM_MEDIA_TYPE: Final = "application/vnd.apache.arrow.stream"

MaxPoints = Annotated[int, msgspec.Meta(ge=2, le=50_000)]


class ChartDataRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/v1/stocks/chart-data``.

    Names a series by ``symbol`` (with ``adjusted``) or by dataset ``table``, a timeframe, a
    window and a pixel budget. ``from``/``to`` take an ISO-8601 date or date-time (UTC when no
    offset is given) or epoch milliseconds; a bare ``to`` date includes that whole day.
    """

    symbol: Symbol | None = None
    table: DatasetName | None = None
    timeframe: Timeframe | None = None
    """Bar width; omitted, the server picks the finest standard timeframe that fits ``max_points``."""
    from_: TimePoint | None = msgspec.field(default=None, name="from")
    to: TimePoint | None = None
    max_points: MaxPoints = 2000
    adjusted: bool | None = None
    """Split-adjusted (default) or raw bars of ``symbol``; with ``table``, must match the dataset if given."""
    session: Session = "extended"
    """``regular`` keeps only 09:30–16:00 New York bars of intraday series; ``extended`` keeps all."""
    indicators: Annotated[list[str], msgspec.Meta(max_length=20)] = msgspec.field(default_factory=list)
    """Indicator series to join as extra columns (named ``ind:<spec>:<output>``)."""
    projections: Annotated[list[str], msgspec.Meta(max_length=10)] = msgspec.field(default_factory=list)
    """Projection series to join as extra columns (named ``proj:<spec>:<output>``)."""
    run_id: str | None = None
    """A backtest run whose trades to join as marker columns (``trade:side``, ``trade:price``)."""

    def __post_init__(self) -> None:
        """Upper-case the symbol."""
        if self.symbol is not None:
            self.symbol = self.symbol.upper()


class ChartSliceMeta(msgspec.Struct, kw_only=True):
    """What the server did to answer a chart-data request (Arrow schema metadata and headers)."""

    symbol: str
    timeframe: Timeframe
    """The timeframe asked for, or the one the server picked when none was asked for."""
    bucket: str
    """Width of each returned bar: the timeframe, or a wider one when the budget forced it."""
    source_series: str
    """The stored series the buckets were built from, e.g. ``1m``."""
    rows: int
    truncated: bool
    """True when the query's row or time budget cut the answer short."""
    window_from: dt.datetime | None
    window_to: dt.datetime | None
    adjusted: bool
    session: Session


class ChartBar(msgspec.Struct, array_like=False):
    """One row of a chart slice in the JSON form.

    Rows after the last bar (a projection's steps to come) have no prices: null OHLCV.
    """

    ts: int
    """Bucket start, epoch milliseconds UTC."""
    open: float | None
    high: float | None
    low: float | None
    close: float | None
    volume: float | None


class ChartSliceJson(msgspec.Struct, kw_only=True):
    """The JSON form of a chart slice (sent when the client accepts only JSON)."""

    meta: ChartSliceMeta
    bars: list[ChartBar]
    series: dict[str, list[float | None]] = msgspec.field(default_factory=dict)
    """Columns joined to the bars, row for row (``ind:<spec>:<output>`` …); null where undefined."""


class BarRow(msgspec.Struct, kw_only=True):
    """One stored bar as ``GET /api/v1/stocks/data/{table}`` pages it."""

    ts: dt.datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    vwap: float | None
    transactions: int | None


class BarPage(msgspec.Struct, kw_only=True):
    """A page of raw bars of one dataset."""

    table: str
    offset: int
    limit: int
    total: int
    rows: list[BarRow]


class SeriesKey(msgspec.Struct, frozen=True, kw_only=True):
    """Identifies one stored series: a symbol at one bar width, adjusted or raw."""

    symbol: Symbol
    multiplier: int
    timespan: Timespan
    adjusted: bool = True

    @property
    def series(self) -> str:
        """The series code of its bar width, e.g. ``1m``, ``1d`` (as the bar store keys it).

        >>> SeriesKey(symbol="AAPL", multiplier=5, timespan="minute").series
        '5m'
        """
        return series_code(self.multiplier, self.timespan)

    @classmethod
    def of(cls, *, symbol: str, series: str, adjusted: bool) -> SeriesKey:
        """The series of ``symbol`` at the bar width a series code names.

        >>> SeriesKey.of(symbol="SPY", series="1d", adjusted=False).timespan
        'day'
        """
        multiplier, timespan = parse_series_code(series)
        return cls(symbol=symbol, multiplier=multiplier, timespan=timespan, adjusted=adjusted)


class SliceQuery(msgspec.Struct, frozen=True, kw_only=True):
    """What a chart slice is cut from: one stored series over a window, within a pixel budget.

    The slice engine (:mod:`warehouse.clickhouse.slice_search`) answers it from ClickHouse or from
    the hot cache alike; joins (``ind:``, ``proj:``, ``trade:`` columns) are added on top of it.
    """

    ref: SeriesKey
    """The stored series the buckets are built from."""
    timeframe: str
    """The narrowest bucket width wanted (a ladder code such as ``1m``, ``2h``, ``1w``)."""
    start: dt.datetime
    """First instant of the window (aware, UTC)."""
    end: dt.datetime
    """Last instant of the window, inclusive."""
    max_points: int
    """Most buckets to return; wider buckets are used when the window holds more."""
    session: Session = "extended"
    """``regular`` keeps only 09:30–16:00 New York bars (intraday series only)."""
    widths: tuple[str, ...] | None = None
    """The widths the slice may use, narrowest first (default: every ladder width from ``timeframe``)."""

    @property
    def regular(self) -> bool:
        """Whether only regular-session bars count (a daily or wider series has no session to cut).

        >>> key = SeriesKey.of(symbol="SPY", series="1d", adjusted=True)
        >>> at = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
        >>> SliceQuery(ref=key, timeframe="1d", start=at, end=at, max_points=2, session="regular").regular
        False
        """
        return self.session == "regular" and BarWidth.of(self.ref.series).is_intraday


class SeriesRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What a source is asked for: one series over an inclusive range of exchange dates."""

    key: SeriesKey
    start: dt.date
    end: dt.date
    source: SourceName = "polygon"
