"""Strategies: the catalog, backtest runs, sweeps, walk-forward, screens, the ``strategy_applied`` event."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, get_args

import msgspec
import pyarrow as pa

from schemas.values import DatasetName, Session, Symbol, Timeframe, TimePoint

StrategyName = Annotated[str, msgspec.Meta(pattern=r"^[^\x00-\x1f\x7f]+$", min_length=1, max_length=120)]
StrategyCode = Annotated[str, msgspec.Meta(min_length=1, max_length=20_000)]
"""Strategy text: at most 20,000 characters (see docs/strategy-language.md)."""
Description = Annotated[str, msgspec.Meta(pattern=r"^[^\x00]*$", max_length=4_000)]
ParamValues = Annotated[dict[str, float], msgspec.Meta(max_length=50)]
"""Parameter overrides by declared name."""

BacktestMode = Literal["default", "backtesting.py"]
"""``default``: our conventions; ``backtesting.py``: that library's sizing, fill and commission rules."""

RunState = Literal["queued", "running", "complete", "failed"]
RunKind = Literal["backtest", "sweep", "walk_forward"]

MetricName = Literal[
    "total_return_pct",
    "cagr_pct",
    "volatility_pct",
    "sharpe",
    "sortino",
    "max_drawdown_pct",
    "max_drawdown_duration_bars",
    "win_rate_pct",
    "profit_factor",
    "expectancy_pct",
    "exposure_pct",
    "num_trades",
    "final_equity",
    "buy_hold_return_pct",
]

METRIC_NAMES: tuple[MetricName, ...] = get_args(MetricName)
"""Every metric a run reports, and what sweeps and walk-forward may rank by."""


class ParamSpec(msgspec.Struct, kw_only=True):
    """A declared parameter: ``fast = param(10, min=2, max=100)``."""

    name: str
    default: float
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = True
    """Whole numbers only (the default is whole and so are the bounds)."""


class StrategyCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/v1/strategies/create``."""

    name: StrategyName
    code: StrategyCode
    description: Description = ""


class StrategyUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``PUT /api/v1/strategies/{id}``: what changes (a new version when ``code`` changes)."""

    name: StrategyName | None = None
    code: StrategyCode | None = None
    description: Description | None = None


class StrategyCheck(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/v1/strategies/check``: strategy text or a screen expression to parse."""

    code: StrategyCode
    kind: Literal["strategy", "expression"] = "strategy"


class ParseProblem(msgspec.Struct, kw_only=True):
    """Where and why strategy text does not parse (1-based line and column)."""

    message: str
    line: int
    column: int
    expected: list[str] = msgspec.field(default_factory=list)
    suggestion: str | None = None
    """The closest known name, for an unknown one."""


class StrategyCheckResult(msgspec.Struct, kw_only=True):
    """Whether the text parses; what it declares when it does."""

    ok: bool
    problems: list[ParseProblem] = msgspec.field(default_factory=list)
    parameters: list[ParamSpec] = msgspec.field(default_factory=list)
    rules: list[str] = msgspec.field(default_factory=list)
    series: list[str] = msgspec.field(default_factory=list)
    """Named series the text assigns (besides rules and parameters)."""


class Strategy(msgspec.Struct, kw_only=True):
    """A stored strategy at its latest version."""

    id: int
    name: str
    description: str
    code: str
    parameters: list[ParamSpec]
    version: int
    """1 on creation; each change of code, name or description adds one."""
    author: str
    performance_metrics: dict[str, float | None]
    """The metrics of the strategy's latest complete backtest (empty before one)."""
    last_run_id: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class StrategyVersion(msgspec.Struct, kw_only=True):
    """One version of a strategy's text."""

    version: int
    name: str
    description: str
    code: str
    created_at: dt.datetime
    author: str


class BacktestRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/v1/strategies/apply``: a strategy over a stored series.

    Names a series by ``symbol`` (with ``adjusted``) or by dataset ``table``, like chart-data.
    """

    strategy: int | StrategyName
    """The strategy's id, or its name among the caller's strategies."""
    symbol: Symbol | None = None
    table: DatasetName | None = None
    timeframe: Timeframe | None = None
    """Bar width; omitted, the finest standard timeframe the series tiles."""
    from_: TimePoint | None = msgspec.field(default=None, name="from")
    to: TimePoint | None = None
    adjusted: bool | None = None
    session: Session = "extended"
    params: ParamValues = msgspec.field(default_factory=dict)
    cash: Annotated[float, msgspec.Meta(gt=0, le=1e12)] = 10_000.0
    commission: Annotated[float, msgspec.Meta(ge=0, lt=0.1)] = 0.0
    """Fraction of each fill's value (0.001 = 0.1%)."""
    slippage: Annotated[float, msgspec.Meta(ge=0, lt=0.1)] = 0.0
    """Fraction of price each fill moves against the trade."""
    mode: BacktestMode = "default"
    strategy_version: Annotated[int, msgspec.Meta(ge=1)] | None = None
    """Run an earlier version of the strategy (the latest when omitted)."""

    def __post_init__(self) -> None:
        """Upper-case the symbol."""
        if self.symbol is not None:
            self.symbol = self.symbol.upper()


SweepGrid = Annotated[
    dict[str, Annotated[list[float], msgspec.Meta(min_length=1, max_length=1000)]], msgspec.Meta(max_length=6)
]


class SweepRequest(BacktestRequest, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/v1/strategies/sweep``: a backtest per combination of ``grid``, as one job."""

    grid: SweepGrid
    """Values per declared parameter; at most 10,000 combinations."""
    metric: MetricName = "sharpe"
    """What the answer ranks and the heatmap colours by."""


class WalkForwardRequest(BacktestRequest, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/v1/strategies/walk-forward``: optimise in sample, test out of sample, rolling."""

    grid: SweepGrid
    metric: MetricName = "sharpe"
    folds: Annotated[int, msgspec.Meta(ge=2, le=20)] = 5
    """Out-of-sample windows, one after another, covering the series' last part."""
    in_sample_ratio: Annotated[float, msgspec.Meta(gt=0.2, lt=0.95)] = 0.75
    """Share of each fold's span that is optimised on (the rest is tested)."""


class RunAccepted(msgspec.Struct, kw_only=True):
    """Answer of ``/strategies/apply``, ``/sweep`` and ``/walk-forward`` (HTTP 202)."""

    run_id: str
    job_id: str
    status_url: str
    """``/api/v1/strategies/runs/{run_id}``."""


class Trade(msgspec.Struct, kw_only=True):
    """One closed (or, at the end of the data, still open) trade."""

    entry_time: dt.datetime
    exit_time: dt.datetime | None
    """None: still open at the last bar (valued at its close)."""
    entry_price: float
    exit_price: float | None
    size: float
    """Units; negative for a short, as backtesting.py reports it."""
    pnl: float
    """Net of commission and slippage."""
    return_pct: float
    duration_bars: int
    exit_reason: Literal["signal", "stop_loss", "take_profit", "trailing_stop", "reverse", "end"]
    entry_bar: int
    exit_bar: int | None


TRADE_ARROW_SCHEMA = pa.schema(
    [
        pa.field("entry_time", pa.timestamp("ms", tz="UTC"), nullable=False),
        pa.field("exit_time", pa.timestamp("ms", tz="UTC")),
        pa.field("entry_price", pa.float64(), nullable=False),
        pa.field("exit_price", pa.float64()),
        pa.field("size", pa.float64(), nullable=False),
        pa.field("pnl", pa.float64(), nullable=False),
        pa.field("return_pct", pa.float64(), nullable=False),
        pa.field("duration_bars", pa.int32(), nullable=False),
        pa.field("exit_reason", pa.string(), nullable=False),
        pa.field("entry_bar", pa.int32(), nullable=False),
        pa.field("exit_bar", pa.int32()),
    ]
)
"""A run's trades as a table: one row per :class:`Trade`, the same fields."""


class LookAheadAudit(msgspec.Struct, kw_only=True):
    """The replay of the strategy on truncated prefixes of the data."""

    uses_future_data: bool
    cut_points: list[int]
    """Bar counts of the prefixes replayed."""
    first_offending_bar: int | None = None
    first_offending_time: dt.datetime | None = None
    rule: str | None = None
    """The rule (or stop/size series) whose value moved."""


class SeriesPin(msgspec.Struct, kw_only=True):
    """The data a run saw: the stored series, its version, the bars' extent."""

    symbol: str
    series: str
    adjusted: bool
    timeframe: str
    session: Session
    version: str
    """A token of the series' version over the run's window when the bars were read: it changes
    whenever bars in that window may have changed (see SeriesVersions)."""
    first_bar: dt.datetime | None
    last_bar: dt.datetime | None
    bars: int


class SweepRow(msgspec.Struct, kw_only=True):
    """One combination of a sweep and its metrics."""

    params: dict[str, float]
    metrics: dict[str, float | None]


class SweepResult(msgspec.Struct, kw_only=True):
    """A sweep's table, ranked by its metric (best first)."""

    metric: str
    axes: dict[str, list[float]]
    rows: list[SweepRow]


class WalkForwardFold(msgspec.Struct, kw_only=True):
    """One fold: the parameters chosen in sample and how they did in and out of sample."""

    in_sample_from: dt.datetime
    in_sample_to: dt.datetime
    out_of_sample_from: dt.datetime
    out_of_sample_to: dt.datetime
    params: dict[str, float]
    in_sample: dict[str, float | None]
    out_of_sample: dict[str, float | None]


class WalkForwardResult(msgspec.Struct, kw_only=True):
    """Every fold, and the means in and out of sample of the chosen metric."""

    metric: str
    folds: list[WalkForwardFold]
    in_sample_mean: float | None
    out_of_sample_mean: float | None


class StrategyRun(msgspec.Struct, kw_only=True):
    """A run (``GET /api/v1/strategies/runs/{run_id}``)."""

    run_id: str
    kind: RunKind
    status: RunState
    strategy_id: int
    strategy_name: str
    strategy_version: int
    owner: str
    request: dict[str, object]
    created_at: dt.datetime
    symbol: str | None = None
    timeframe: str | None = None
    finished_at: dt.datetime | None = None
    job_id: str | None = None
    error: str | None = None
    pin: SeriesPin | None = None
    params: dict[str, float] = msgspec.field(default_factory=dict)
    """Every parameter's value in this run (declared defaults with the overrides)."""
    metrics: dict[str, float | None] | None = None
    trades: list[Trade] | None = None
    trades_total: int = 0
    audit: LookAheadAudit | None = None
    sweep: SweepResult | None = None
    walk_forward: WalkForwardResult | None = None
    duration_ms: float | None = None


class StrategyRunSummary(msgspec.Struct, kw_only=True):
    """A run in ``GET /api/v1/strategies/{id}/runs``."""

    run_id: str
    kind: RunKind
    status: RunState
    strategy_version: int
    symbol: str | None
    timeframe: str | None
    created_at: dt.datetime
    metrics: dict[str, float | None] | None = None
    uses_future_data: bool | None = None


class EquityCurve(msgspec.Struct, kw_only=True):
    """``GET /api/v1/strategies/runs/{run_id}/equity``: the curve, at most ``points`` points."""

    run_id: str
    points: list[tuple[int, float, float]]
    """``[ts, equity, drawdown_pct]``: bucket start (epoch ms), equity at its close, % below the peak."""
    total: int
    """Bars in the whole curve (the answer keeps each bucket's lowest point and its last one)."""


class StrategyRunJob(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The request a strategy-run job carries: the run recorded when it was queued."""

    run_id: str


class StrategyApplied(msgspec.Struct, tag="strategy_applied", tag_field="type", kw_only=True):
    """A backtest, sweep or walk-forward run finished (or failed); relayed to its owner and admins."""

    run_id: str
    kind: RunKind
    status: RunState
    strategy_id: int
    strategy_name: str
    strategy_version: int
    symbol: str | None
    timeframe: str | None
    owner: str
    job_id: str | None = None
    metrics: dict[str, float | None] | None = None
    uses_future_data: bool | None = None
    error: str | None = None
    duration_ms: float | None = None


class ScreenRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/v1/screens``: a boolean expression on the last bar of every dataset."""

    expression: Annotated[str, msgspec.Meta(min_length=1, max_length=2_000)]
    timeframe: Timeframe = "1d"
    """Datasets whose series tiles this width are screened, bucketed at it."""
    at: TimePoint | None = None
    """Screen the last bar at or before this time (the latest bar when omitted)."""
    session: Session = "extended"
    params: ParamValues = msgspec.field(default_factory=dict)
    sort: str | None = None
    """A value column to sort by (``close``, or one of the expression's terms); symbol when omitted."""
    descending: bool = False
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100
    offset: Annotated[int, msgspec.Meta(ge=0)] = 0


class ScreenMatch(msgspec.Struct, kw_only=True):
    """A symbol the expression holds for, with the values it used."""

    symbol: str
    table: str
    ts: int
    """The bar evaluated, epoch ms UTC."""
    values: dict[str, float | None]


class ScreenResult(msgspec.Struct, kw_only=True):
    """The matching symbols, sorted and paged."""

    expression: str
    timeframe: str
    columns: list[str]
    """The value columns of every match (``close`` and each term of the expression)."""
    matches: list[ScreenMatch]
    total: int
    """Matching symbols in all."""
    screened: int
    """Datasets evaluated."""
    skipped: list[str]
    """Datasets not evaluated, with why (too short for the expression, no bar at ``at``)."""
    duration_ms: float
