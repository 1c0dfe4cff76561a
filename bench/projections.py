"""Projections: each method's job end to end on 1M minute bars, and an evaluation of 50 cut points.

1,000,000 synthetic minute bars (the strategy benchmark's seeded random walk) are stored through
the write path. For each method, :data:`JOB_RUNS` times: ``POST /projections`` (390 steps: a
regular session of minutes) through the app in process, a burst worker, until the projection is
stored and chart-data draws it (its rows past the last bar answered); best reported. AutoARIMA's
job is set against statsforecast's ``AutoARIMA().forecast`` on the same window, called directly.
Then ``POST /projections/evaluate`` of every method, 50 cut points, 20 steps each.

``python -m bench projections``; results in ``bench/results/projections*.json``.
"""

from __future__ import annotations

import time
from typing import Any, Final

import httpx
import numpy as np

from api.runtime import Runtime
from api.worker import build_worker
from bench.common import admin_client, report, start_runtime, store_series
from bench.strategies import random_walk_bars
from bench.strategy_runs import minute_table
from schemas.bars import SeriesKey

BARS: Final = 1_000_000
SYMBOL: Final = "BENCHP"
HORIZON: Final = 390
JOB_RUNS: Final = 3
METHODS: Final = ("naive", "linreg", "gbm", "ets", "autoarima")
CUTS: Final = 50


async def main() -> None:
    runtime = await start_runtime()
    rows: list[dict[str, Any]] = []
    try:
        bars = random_walk_bars(BARS, 13)
        await store_series(
            runtime, SeriesKey.of(symbol=SYMBOL, series="1m", adjusted=True), minute_table(bars), "bench"
        )
        async with admin_client(runtime) as http:
            for method in METHODS:
                walls = [await _projection_ms(runtime, http, method) for _ in range(JOB_RUNS)]
                baseline = "-"
                baseline_ms = min(walls)
                if method == "autoarima":
                    baseline, baseline_ms = (
                        "statsforecast AutoARIMA().forecast, same window",
                        _direct_arima(bars.close),
                    )
                rows.append(
                    _row(
                        f"{method} projection job, POST → stored → drawable",
                        min(walls),
                        baseline,
                        baseline_ms,
                    )
                )
                print(f"  {method}: {min(walls):,.0f} ms", flush=True)
            rows.append(
                _row(
                    f"evaluate, {len(METHODS)} methods × {CUTS} cut points", await _evaluate_ms(runtime, http)
                )
            )
    finally:
        await runtime.close()
    print(f"\nprojections over {BARS:,} minute bars, {HORIZON} steps\n")
    report("projections", rows)


async def _drain(runtime: Runtime) -> None:
    await build_worker(runtime, burst=True).async_run()


async def _projection_ms(runtime: Runtime, http: httpx.AsyncClient, method: str) -> float:
    began = time.perf_counter()
    body = {"symbol": SYMBOL, "timeframe": "1m", "method": method, "horizon": HORIZON}
    answer = await http.post("/api/v1/projections", json=body)
    assert answer.status_code == 202, answer.text
    projection_id = answer.json()["projection_id"]
    await _drain(runtime)
    chart = await http.post(
        "/api/v1/stocks/chart-data",
        json={"symbol": SYMBOL, "timeframe": "1m", "from": "2021-11-01", "projections": [projection_id]},
        headers={"Accept": "application/json"},
    )
    assert chart.status_code == 200, chart.text
    drawn = chart.json()["series"][f"proj:{projection_id}:median"]
    assert sum(value is not None for value in drawn) == HORIZON, "every step drawn past the last bar"
    return (time.perf_counter() - began) * 1000


def _direct_arima(closes: np.ndarray) -> float:
    from statsforecast.models import AutoARIMA  # type: ignore[import-untyped]

    began = time.perf_counter()
    AutoARIMA(season_length=1).forecast(y=np.ascontiguousarray(closes[-1000:]), h=HORIZON, level=[80])
    return (time.perf_counter() - began) * 1000


async def _evaluate_ms(runtime: Runtime, http: httpx.AsyncClient) -> float:
    began = time.perf_counter()
    body = {"symbol": SYMBOL, "timeframe": "1m", "horizon": 20, "cuts": CUTS}
    answer = await http.post("/api/v1/projections/evaluate", json=body)
    assert answer.status_code == 202, answer.text
    await _drain(runtime)
    evaluation = (await http.get(answer.json()["status_url"])).json()
    assert evaluation["status"] == "complete", evaluation
    print(
        "  evaluation:",
        [(row["method"], round(row["skill"] or 0, 3), row["cuts_scored"]) for row in evaluation["rows"]],
    )
    return (time.perf_counter() - began) * 1000


def _row(
    measurement: str, ms: float, baseline: str = "-", baseline_ms: float | None = None
) -> dict[str, Any]:
    base = baseline_ms if baseline_ms is not None else ms
    return {
        "measurement": measurement,
        "ms": ms,
        "baseline": baseline,
        "baseline ms": base,
        "ratio": ms / base,
    }
