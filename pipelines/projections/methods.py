"""Forecasting methods: a series' closes, a horizon and parameters in; a median path and a band out.

Every method fits on the last ``window`` closes and answers ``horizon`` steps ahead, with a band of
nominal coverage ``level`` percent (the share of real closes it should hold):

- ``naive``: a random walk — the last close, with a band from the log returns' standard deviation
  growing as √h. Every other method is compared with it.
- ``linreg``: a least-squares line through the window, extended; the band ± ``k`` standard errors
  of the regression (the residuals' standard deviation). ``level`` is then what ± k covers under
  normal residuals.
- ``gbm``: geometric Brownian motion with the drift and volatility of the window's log returns;
  ``paths`` paths from ``seed``; the median and the (50 ± level/2)th percentiles of each step.
- ``ets`` and ``autoarima``: statsforecast's ``AutoETS`` and ``AutoARIMA`` (non-seasonal) with
  their own prediction intervals at ``level``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from pipelines.errors import PipelineClientError
from schemas.projections import ProjectionMethod

Floats = NDArray[np.float64]


class InvalidProjection(PipelineClientError):
    """An unknown parameter or a value out of range, or a series too short for the method."""


@dataclass(frozen=True, slots=True)
class Forecast:
    """A projection's path: the median and the band, one value per step ahead."""

    median: Floats
    lower: Floats
    upper: Floats


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter of a method: its default and valid range."""

    default: float
    minimum: float
    maximum: float
    integer: bool = True


_LEVEL: Final = Param(80, 1, 99.9, integer=False)
PARAMS: Final[Mapping[ProjectionMethod, Mapping[str, Param]]] = {
    "naive": {"window": Param(252, 2, 100_000), "level": _LEVEL},
    "linreg": {"window": Param(100, 3, 100_000), "k": Param(2, 0.1, 10, integer=False)},
    "gbm": {
        "window": Param(252, 3, 100_000),
        "paths": Param(1000, 10, 20_000),
        "seed": Param(0, 0, 2**31 - 1),
        "level": _LEVEL,
    },
    "ets": {"window": Param(1000, 10, 20_000), "level": _LEVEL},
    "autoarima": {"window": Param(1000, 20, 5_000), "level": _LEVEL},
}
"""Every method's parameters, with defaults and ranges."""


def resolve(method: ProjectionMethod, params: Mapping[str, float]) -> dict[str, float]:
    """``params`` checked against ``method``'s, with the defaults filled in.

    Raises:
        InvalidProjection: an unknown parameter, or a value out of range or not whole.
    """
    known = PARAMS[method]
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise InvalidProjection(
            f"{method} has no parameter {', '.join(unknown)}; it takes {', '.join(sorted(known))}"
        )
    resolved = {}
    for name, param in known.items():
        value = float(params.get(name, param.default))
        whole = "a whole number " if param.integer else "a number "
        if (
            not math.isfinite(value)
            or not param.minimum <= value <= param.maximum
            or (param.integer and value != int(value))
        ):
            raise InvalidProjection(
                f"{method}'s {name} must be {whole}from {param.minimum:g} to {param.maximum:g}, not {value:g}"
            )
        resolved[name] = value
    return resolved


def level_of(method: ProjectionMethod, params: Mapping[str, float]) -> float:
    """The nominal coverage of ``method``'s band at ``params``, in percent."""
    if method == "linreg":
        return (2 * NormalDist().cdf(params["k"]) - 1) * 100
    return params["level"]


def needs(method: ProjectionMethod, params: Mapping[str, float]) -> int:
    """The closes ``method`` needs at ``params``: its fit window."""
    return int(params["window"])


def _z(level: float) -> float:
    return NormalDist().inv_cdf(0.5 + level / 200)


def naive(closes: Floats, horizon: int, params: Mapping[str, float]) -> Forecast:
    """The last close, with a band from the log returns' standard deviation times √h."""
    returns = np.diff(np.log(closes))
    sigma = float(np.std(returns, ddof=1)) if returns.size > 1 else 0.0
    steps = np.arange(1, horizon + 1, dtype=np.float64)
    spread = _z(params["level"]) * sigma * np.sqrt(steps)
    last = float(closes[-1])
    return Forecast(median=np.full(horizon, last), lower=last * np.exp(-spread), upper=last * np.exp(spread))


def linreg(closes: Floats, horizon: int, params: Mapping[str, float]) -> Forecast:
    """A least-squares line through the window, extended, ± k standard errors."""
    n = closes.size
    x = np.arange(n, dtype=np.float64)
    slope, intercept = np.polyfit(x, closes, 1)
    residuals = closes - (slope * x + intercept)
    error = float(np.sqrt(np.sum(residuals**2) / max(n - 2, 1)))
    ahead = np.arange(n, n + horizon, dtype=np.float64)
    median = slope * ahead + intercept
    width = params["k"] * error
    return Forecast(median=median, lower=median - width, upper=median + width)


def gbm(closes: Floats, horizon: int, params: Mapping[str, float]) -> Forecast:
    """Paths of geometric Brownian motion with the window's drift and volatility; their quantiles."""
    returns = np.diff(np.log(closes))
    mu = float(np.mean(returns))
    sigma = float(np.std(returns, ddof=1)) if returns.size > 1 else 0.0
    rng = np.random.default_rng(int(params["seed"]))
    shocks = rng.standard_normal((int(params["paths"]), horizon))
    paths = float(closes[-1]) * np.exp(np.cumsum(mu + sigma * shocks, axis=1))
    half = params["level"] / 2
    lower, median, upper = np.percentile(paths, [50 - half, 50, 50 + half], axis=0)
    return Forecast(median=median, lower=lower, upper=upper)


def _statsforecast(model: Any, closes: Floats, horizon: int, level: float) -> Forecast:
    answer = model.forecast(y=closes, h=horizon, level=[level])
    lower = next(values for name, values in answer.items() if name.startswith("lo-"))  # "lo-80" or "lo-80.0"
    upper = next(values for name, values in answer.items() if name.startswith("hi-"))
    return Forecast(
        median=np.asarray(answer["mean"], dtype=np.float64),
        lower=np.asarray(lower, dtype=np.float64),
        upper=np.asarray(upper, dtype=np.float64),
    )


def ets(closes: Floats, horizon: int, params: Mapping[str, float]) -> Forecast:
    """Statsforecast's AutoETS (non-seasonal) and its prediction interval."""
    from statsforecast.models import AutoETS  # type: ignore[import-untyped]  # heavy: only its jobs pay

    return _statsforecast(AutoETS(season_length=1), closes, horizon, params["level"])


def autoarima(closes: Floats, horizon: int, params: Mapping[str, float]) -> Forecast:
    """Statsforecast's AutoARIMA (non-seasonal) and its prediction interval."""
    from statsforecast.models import AutoARIMA

    return _statsforecast(AutoARIMA(season_length=1), closes, horizon, params["level"])


METHODS: Final[Mapping[ProjectionMethod, Callable[[Floats, int, Mapping[str, float]], Forecast]]] = {
    "naive": naive,
    "linreg": linreg,
    "gbm": gbm,
    "ets": ets,
    "autoarima": autoarima,
}


def project(method: ProjectionMethod, closes: Floats, horizon: int, params: Mapping[str, float]) -> Forecast:
    """``method`` fitted on the last ``window`` of ``closes`` (resolved ``params``), ``horizon`` steps ahead.

    Raises:
        InvalidProjection: fewer closes than the fit window, or closes that are not all positive.
    """
    window = needs(method, params)
    if closes.size < window:
        raise InvalidProjection(
            f"{method} fits on {window:,} bars (its window) and the series has {closes.size:,}:"
            " choose a smaller window or a finer timeframe"
        )
    fit = np.ascontiguousarray(closes[-window:], dtype=np.float64)
    if not (np.isfinite(fit).all() and (fit > 0).all()):
        raise InvalidProjection("the closes to fit on must all be positive numbers")
    forecast = METHODS[method](fit, horizon, params)
    return Forecast(
        median=np.asarray(forecast.median, dtype=np.float64)[:horizon],
        lower=np.minimum(forecast.lower, forecast.median)[:horizon],
        upper=np.maximum(forecast.upper, forecast.median)[:horizon],
    )
