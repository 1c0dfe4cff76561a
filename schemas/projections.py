"""Projections: forecasts past the last bar, their scores, and evaluations of the methods on a series."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from schemas.values import DatasetName, Session, Symbol, Timeframe

ProjectionMethod = Literal["naive", "linreg", "gbm", "ets", "autoarima"]
"""``naive`` a random walk (the baseline), ``linreg`` a regression channel, ``gbm`` a Monte-Carlo
fan, ``ets`` exponential smoothing and ``autoarima`` (statsforecast's)."""
ProjectionState = Literal["queued", "running", "complete", "failed"]

MAX_HORIZON = 1000
"""Bars a projection reaches past the last real bar, at most."""
MethodParams = Annotated[dict[str, float], msgspec.Meta(max_length=10)]


class ProjectionRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/v1/projections``: a forecast of a stored series."""

    symbol: Symbol | None = None
    table: DatasetName | None = None
    timeframe: Timeframe | None = None
    adjusted: bool | None = None
    session: Session = "extended"
    method: ProjectionMethod
    horizon: Annotated[int, msgspec.Meta(ge=1, le=MAX_HORIZON)]
    params: MethodParams = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        """Upper-case the symbol."""
        if self.symbol is not None:
            self.symbol = self.symbol.upper()


class ProjectionAccepted(msgspec.Struct, kw_only=True):
    """Answer of ``POST /api/v1/projections`` (HTTP 202)."""

    projection_id: str
    job_id: str
    status_url: str


class ProjectionScore(msgspec.Struct, kw_only=True):
    """How a projection did once real bars covered its horizon."""

    mae: float
    """Mean absolute error of the median path against the real closes."""
    mape_pct: float | None
    inside_pct: float
    """Share of real closes inside the band, in percent."""
    level: float
    """The band's nominal coverage, in percent (what ``inside_pct`` should be)."""
    direction_hit: bool
    """Whether the median's move over the horizon had the real move's sign."""
    bars: int


class Projection(msgspec.Struct, kw_only=True):
    """A stored projection (``GET /api/v1/projections``)."""

    id: str
    symbol: str
    series: str
    adjusted: bool
    timeframe: str
    session: Session
    method: ProjectionMethod
    params: dict[str, float]
    """Every parameter the method ran with (defaults filled in)."""
    level: float
    horizon: int
    created_at: dt.datetime
    last_bar: dt.datetime | None
    """The last real bar the projection saw (None until computed)."""
    status: ProjectionState
    owner: str
    first_ts: int | None = None
    """Its first future bucket, epoch ms."""
    last_ts: int | None = None
    score: ProjectionScore | None = None
    error: str | None = None
    job_id: str | None = None


class EvaluationRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/v1/projections/evaluate``: methods projected from past cut points and scored."""

    symbol: Symbol | None = None
    table: DatasetName | None = None
    timeframe: Timeframe | None = None
    adjusted: bool | None = None
    session: Session = "extended"
    methods: Annotated[list[ProjectionMethod], msgspec.Meta(min_length=1, max_length=5)] = msgspec.field(
        default_factory=lambda: ["naive", "linreg", "gbm", "ets", "autoarima"]
    )
    horizon: Annotated[int, msgspec.Meta(ge=1, le=MAX_HORIZON)] = 20
    cuts: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20
    params: Annotated[dict[str, MethodParams], msgspec.Meta(max_length=5)] = msgspec.field(
        default_factory=dict
    )

    def __post_init__(self) -> None:
        """Upper-case the symbol."""
        if self.symbol is not None:
            self.symbol = self.symbol.upper()


class EvaluationAccepted(msgspec.Struct, kw_only=True):
    """Answer of ``POST /api/v1/projections/evaluate`` (HTTP 202)."""

    evaluation_id: str
    job_id: str
    status_url: str


class MethodScore(msgspec.Struct, kw_only=True):
    """A method's scores over an evaluation's cut points (means)."""

    method: ProjectionMethod
    mae: float | None
    mape_pct: float | None
    inside_pct: float | None
    level: float
    direction_hit_pct: float | None
    skill: float | None
    """1 − MAE / the naive baseline's MAE: above 0 beats the random walk (0 for naive itself)."""
    cuts_scored: int
    error: str | None = None


class Evaluation(msgspec.Struct, kw_only=True):
    """An evaluation (``GET /api/v1/projections/evaluations/{id}``), its methods ranked best first."""

    id: str
    symbol: str
    timeframe: str
    horizon: int
    cuts: int
    status: ProjectionState
    created_at: dt.datetime
    rows: list[MethodScore] = msgspec.field(default_factory=list)
    error: str | None = None
    job_id: str | None = None


class ProjectionJob(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The request a projection job carries: the projection recorded when it was queued."""

    projection_id: str


class EvaluationJob(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The request an evaluation job carries: the evaluation recorded when it was queued."""

    evaluation_id: str
