"""Indicators: the catalog, calculate requests and the ``indicator_calculated`` event."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from schemas.values import DatasetName, Session, Symbol, Timeframe

ParameterType = Literal["integer", "number", "ma_type", "date"]
"""``integer`` (a period), ``number`` (a multiplier), ``ma_type`` (TA-Lib's moving-average kinds, 0–8),
``date`` (an ISO date, e.g. an anchored VWAP's anchor)."""

Plot = Literal["line", "dashed", "dotted", "histogram", "markers"]
"""How an output is drawn: TA-Lib's output flags, and ``markers`` for candlestick patterns."""

Pane = Literal["price", "own", "markers"]
"""Where an indicator is drawn: over the prices, in its own pane, or as markers on the bars."""

MA_TYPES: tuple[str, ...] = ("SMA", "EMA", "WMA", "DEMA", "TEMA", "TRIMA", "KAMA", "MAMA", "T3")
"""TA-Lib's moving-average kinds, by ``matype`` value."""


class IndicatorParameter(msgspec.Struct, kw_only=True):
    """One parameter of an indicator, with its default and valid range."""

    name: str
    """The name a spec passes it by (``timeperiod``, ``nbdevup``, ``anchor``)."""
    display_name: str
    type: ParameterType
    default: int | float | str | None
    """None only for a ``date`` with no default (it must be given)."""
    minimum: float | None = None
    """Smallest valid value (None: unbounded)."""
    maximum: float | None = None
    """Largest valid value (None: unbounded)."""
    help: str = ""


class IndicatorOutput(msgspec.Struct, kw_only=True):
    """One output series of an indicator: a chart column ``ind:<spec>:<name>``."""

    name: str
    plot: Plot


class IndicatorInfo(msgspec.Struct, kw_only=True):
    """One indicator of the catalog (``GET /api/v1/indicators/list``)."""

    name: str
    """TA-Lib's upper-case name (``RSI``), or ours (``SVWAP``, ``AVWAP``, ``RET``, ``LOGRET``, ``ZSCORE``,
    ``REALVOL``)."""
    group: str
    """TA-Lib's group (``Overlap Studies``, ``Momentum Indicators`` …), or ``K2 Quant`` for ours."""
    display_name: str
    source: Literal["ta-lib", "k2q"]
    parameters: list[IndicatorParameter]
    inputs: list[str]
    """Bar columns it reads (``open`` … ``volume``; ``ts`` for session-aware ones)."""
    outputs: list[IndicatorOutput]
    overlay: bool
    """Drawn on the price scale (its outputs are prices)."""
    pane: Pane
    lookback: int
    """Bars consumed before the first value, at the default parameters."""
    unstable: bool
    """Its values depend on where the series starts (smoothing): they settle after :attr:`stable_after`."""
    stable_after: int
    """Bars before values are stable, at the defaults: lookback plus, when unstable, the settling bars."""
    levels: list[float] = msgspec.field(default_factory=list)
    """Reference levels drawn in its pane (RSI 30/70, STOCH 20/80, zero lines)."""
    chartable: bool = True
    """False when it needs an input a bar does not have (TA-Lib's MAVP); then :attr:`note` says why."""
    note: str | None = None
    example: str
    """The spec of it at its defaults, e.g. ``rsi``, ``avwap(2024-01-02)``."""


IndicatorSpecs = Annotated[
    list[Annotated[str, msgspec.Meta(max_length=200)]], msgspec.Meta(min_length=1, max_length=20)
]


class IndicatorCalculateRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/v1/indicators/calculate``: indicators over a whole stored series.

    Names a series by ``symbol`` (with ``adjusted``) or by dataset ``table``, like chart-data.
    """

    symbol: Symbol | None = None
    table: DatasetName | None = None
    timeframe: Timeframe | None = None
    """Bucket width computed over; omitted, the finest standard timeframe the series tiles."""
    session: Session = "extended"
    adjusted: bool | None = None
    indicators: IndicatorSpecs
    """Specs as chart-data takes them: ``sma(20)``, ``bbands(20,2,2)``, ``macd(fastperiod=8)``."""

    def __post_init__(self) -> None:
        """Upper-case the symbol."""
        if self.symbol is not None:
            self.symbol = self.symbol.upper()


class IndicatorPoint(msgspec.Struct, kw_only=True, array_like=True):
    """One bucket's values: ``[ts, [value per output]]`` (None where undefined)."""

    ts: int
    """Bucket start, epoch ms UTC."""
    values: list[float | None]


class IndicatorCalculated(msgspec.Struct, tag="indicator_calculated", tag_field="type", kw_only=True):
    """An indicator's stored outputs over a series were computed, reused or extended.

    Relayed to the job's owner (and admins) and to every socket subscribed to ``symbol``. A live
    extension carries the changed buckets' values in ``points`` so charts move with the live candle.
    """

    symbol: str
    adjusted: bool
    series: str
    """The stored series computed over (``1m``, ``1d`` …)."""
    session: Session
    timeframe: str
    """Bucket width of the values (a chart's ``x-k2q-bucket``)."""
    spec: str
    """Canonical spec text, the key of its columns."""
    columns: list[str]
    """``ind:<spec>:<output>`` per output, in order (the order of ``points`` values)."""
    rows: int
    """Buckets stored."""
    stable_from: int | None
    """First bucket (epoch ms) whose values are stable (None: the series is shorter than that)."""
    duration_ms: float
    reused: bool = False
    """The stored outputs were already current: nothing was computed."""
    live: bool = False
    """An extension by new bars (fetch, import, the live stream) rather than a requested calculation."""
    provisional: bool = False
    """Values of the minute still forming (not stored): the bucket's values as of now."""
    points: list[IndicatorPoint] = msgspec.field(default_factory=list)
    """Values of the buckets that changed (live extensions; at most the newest few)."""
    job_id: str | None = None
    owner: str | None = None
    """The user whose job computed it (None for extensions by new bars)."""


class OutputKey(msgspec.Struct, frozen=True, kw_only=True):
    """Where one indicator's outputs over one series are stored: series, session, bucket width, spec."""

    symbol: str
    series: str
    """The stored series' code (``1m``, ``1d`` …)."""
    adjusted: bool
    session: Session
    """``regular`` only for intraday series asked for the regular session; else ``extended``."""
    width: str
    """Bucket width the outputs are computed over (a ladder code: ``1m`` … ``12M``)."""
    spec: str
    """Canonical spec text."""
