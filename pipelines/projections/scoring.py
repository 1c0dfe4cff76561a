"""Scores: how a projection's median and band did against the real closes of its horizon.

- MAE and MAPE of the median path against the real closes, step by step;
- the share of real closes inside the band, to read against the band's nominal coverage;
- direction hit: whether the median's move over the horizon (from the last close it saw) had the
  sign of the real move.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from pipelines.projections.methods import Forecast
from schemas.projections import ProjectionScore


def score(forecast: Forecast, last_close: float, real: NDArray[np.float64], level: float) -> ProjectionScore:
    """Score ``forecast`` against the ``real`` closes of its steps (as many as it has)."""
    steps = min(real.size, forecast.median.size)
    if steps == 0:
        raise ValueError("no real closes to score against")
    median, actual = forecast.median[:steps], real[:steps]
    errors = np.abs(median - actual)
    inside = (actual >= forecast.lower[:steps]) & (actual <= forecast.upper[:steps])
    mape = float(np.mean(errors / np.abs(actual)) * 100) if (actual != 0).all() else None
    predicted, happened = median[-1] - last_close, actual[-1] - last_close
    return ProjectionScore(
        mae=float(np.mean(errors)),
        mape_pct=mape,
        inside_pct=float(np.mean(inside) * 100),
        level=level,
        direction_hit=bool(np.sign(predicted) == np.sign(happened)),
        bars=steps,
    )
