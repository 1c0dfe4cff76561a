"""Forecasting methods against series whose answer is known, the calendar of the steps, scoring by hand."""

from __future__ import annotations

import datetime as dt
from statistics import NormalDist

import numpy as np
import pytest

from pipelines.projections.calendar import future_buckets
from pipelines.projections.methods import Forecast, InvalidProjection, level_of, project, resolve
from pipelines.projections.scoring import score
from schemas.values import NEW_YORK


def test_a_noiseless_trend_is_projected_exactly_by_the_regression_channel() -> None:
    closes = 50 + 0.5 * np.arange(300, dtype=np.float64)
    forecast = project("linreg", closes, 10, resolve("linreg", {"window": 100}))
    expected = 50 + 0.5 * np.arange(300, 310)
    np.testing.assert_allclose(forecast.median, expected, rtol=1e-10)
    np.testing.assert_allclose(forecast.upper - forecast.lower, 0, atol=1e-8)  # no residuals: no band
    assert level_of("linreg", resolve("linreg", {"k": 2})) == pytest.approx(95.45, abs=0.01)


def test_a_gbm_fan_converges_on_the_analytic_quantiles() -> None:
    rng = np.random.default_rng(3)
    mu, sigma = 0.0005, 0.02
    closes = 100 * np.exp(np.cumsum(rng.normal(mu, sigma, 5000)))
    params = resolve("gbm", {"window": 5000, "paths": 20000, "seed": 7, "level": 80})
    forecast = project("gbm", closes, 20, params)
    returns = np.diff(np.log(closes[-5000:]))
    m, s = returns.mean(), returns.std(ddof=1)
    steps = np.arange(1, 21)
    z = NormalDist().inv_cdf(0.9)
    last = closes[-1]
    np.testing.assert_allclose(forecast.median, last * np.exp(m * steps), rtol=0.01)
    np.testing.assert_allclose(forecast.upper, last * np.exp(m * steps + z * s * np.sqrt(steps)), rtol=0.01)
    np.testing.assert_allclose(forecast.lower, last * np.exp(m * steps - z * s * np.sqrt(steps)), rtol=0.01)
    again = project("gbm", closes, 20, params)
    np.testing.assert_array_equal(again.median, forecast.median)  # seeded


def test_the_naive_walk_holds_the_last_close_with_a_band_growing_as_the_root_of_the_steps() -> None:
    closes = np.array([100.0, 101, 99, 102, 100, 103, 101, 104])
    forecast = project("naive", closes, 4, resolve("naive", {"window": 8, "level": 80}))
    np.testing.assert_array_equal(forecast.median, np.full(4, 104.0))
    sigma = np.std(np.diff(np.log(closes)), ddof=1)
    spread = NormalDist().inv_cdf(0.9) * sigma * np.sqrt(np.arange(1, 5))
    np.testing.assert_allclose(forecast.upper, 104 * np.exp(spread))
    np.testing.assert_allclose(forecast.lower, 104 * np.exp(-spread))


@pytest.mark.parametrize("method", ["ets", "autoarima"])
def test_statsforecast_methods_give_a_path_inside_its_band(method: str) -> None:
    rng = np.random.default_rng(1)
    closes = 100 * np.exp(np.cumsum(rng.normal(0.0003, 0.01, 600)))
    forecast = project(method, closes, 15, resolve(method, {"window": 500}))
    assert forecast.median.shape == (15,)
    assert (forecast.lower <= forecast.median).all()
    assert (forecast.median <= forecast.upper).all()
    assert (forecast.upper - forecast.lower)[-1] > (forecast.upper - forecast.lower)[0]
    assert abs(forecast.median[0] / closes[-1] - 1) < 0.05


def test_bad_parameters_and_short_series_are_refused_in_words() -> None:
    with pytest.raises(InvalidProjection, match="linreg has no parameter paths; it takes k, window"):
        resolve("linreg", {"paths": 10})
    with pytest.raises(InvalidProjection, match="gbm's paths must be a whole number from 10 to 20000, not 5"):
        resolve("gbm", {"paths": 5})
    with pytest.raises(InvalidProjection, match=r"linreg fits on 100 bars .* the series has 50"):
        project("linreg", np.ones(50), 5, resolve("linreg", {}))


def _ms(*args: int) -> int:
    return int(dt.datetime(*args, tzinfo=NEW_YORK).timestamp() * 1000)  # type: ignore[misc]


def test_steps_follow_the_exchange_calendar_across_a_weekend_and_a_holiday() -> None:
    days = future_buckets(_ms(2024, 11, 27), "1d", 4)  # Thanksgiving on the 28th, the 30th a Saturday
    assert days.tolist() == [_ms(2024, 11, 29), _ms(2024, 12, 2), _ms(2024, 12, 3), _ms(2024, 12, 4)]
    minutes = future_buckets(_ms(2024, 11, 27, 15, 59), "1m", 2)
    assert minutes.tolist() == [_ms(2024, 11, 29, 9, 30), _ms(2024, 11, 29, 9, 31)]
    hours = future_buckets(_ms(2024, 11, 29, 12), "1h", 2)  # an early close at 13:00
    assert hours.tolist() == [_ms(2024, 12, 2, 9), _ms(2024, 12, 2, 10)]
    weeks = future_buckets(_ms(2024, 12, 23), "1w", 2)
    assert weeks.tolist() == [_ms(2024, 12, 30), _ms(2025, 1, 6)]


def test_a_score_by_hand() -> None:
    forecast = Forecast(
        median=np.array([101.0, 102, 103]), lower=np.array([99.0, 99, 99]), upper=np.array([103.0, 103, 103])
    )
    real = np.array([100.0, 104, 102])
    result = score(forecast, last_close=100.0, real=real, level=80.0)
    assert result.mae == pytest.approx((1 + 2 + 1) / 3)
    assert result.mape_pct == pytest.approx((1 / 100 + 2 / 104 + 1 / 102) / 3 * 100)
    assert result.inside_pct == pytest.approx(200 / 3)  # 104 is above the band
    assert (result.direction_hit, result.bars, result.level) == (True, 3, 80.0)
