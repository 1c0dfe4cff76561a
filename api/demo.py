"""Demo data for a first run without a Polygon key: synthetic bars, labelled as synthetic."""

from __future__ import annotations

import datetime as dt
from typing import Final

from pipelines.ingest.fetch import FetchOutcome
from pipelines.services import Services
from schemas.datasets import FetchRequest
from schemas.indicators import IndicatorCalculateRequest
from schemas.projections import ProjectionRequest
from schemas.strategies import BacktestRequest, StrategyCreate
from warehouse.errors import NotFound

DEMO_SYMBOLS: Final = ("DEMO", "SYNTH")
"""Tickers no exchange lists, so demo bars can never pass for a real company's."""

MINUTE_DAYS: Final = 365
DAILY_YEARS: Final = 10
DEMO_INDICATORS: Final = ("sma(50)", "ema(20)", "bbands(20,2,2)", "rsi(14)", "macd(12,26,9)", "svwap")
"""Indicators stored over the demo series when they are seeded, ready to draw."""
DEMO_TIMEFRAMES: Final = ("1d", "1h")
DEMO_AUTHOR: Final = "admin"
"""The demo strategy's author: the administrator every embedded install signs in as first."""
DEMO_STRATEGY: Final = StrategyCreate(
    name="SMA crossover with a trend filter",
    description="Long when the 20-day SMA crosses above the 50-day SMA while the close is above"
    " its 200-day EMA; out on the cross back down or an 8% trailing stop.",
    code="""\
# Demo strategy: moving-average crossover, only with the long-term trend
fast = param(20, min=2, max=100)
slow = param(50, min=5, max=400)
trend = ema(close, 200)
long_entry = crossover(sma(close, fast), sma(close, slow)) and close > trend
long_exit = crossunder(sma(close, fast), sma(close, slow))
trailing_stop = 8
size = 1
""",
)
"""A sample strategy, backtested over DEMO's daily bars when the demo is seeded."""


def demo_requests(today: dt.date) -> list[FetchRequest]:
    """A year of minute bars for ``DEMO`` and ten years of daily bars for every demo symbol."""
    end = today - dt.timedelta(days=1)
    return [
        FetchRequest(
            symbols=list(DEMO_SYMBOLS),
            timespan="day",
            from_=dt.date(end.year - DAILY_YEARS, end.month, min(end.day, 28)),
            to=end,
            source="synthetic",
        ),
        FetchRequest(
            symbols=[DEMO_SYMBOLS[0]],
            timespan="minute",
            from_=end - dt.timedelta(days=MINUTE_DAYS),
            to=end,
            source="synthetic",
        ),
    ]


async def seed_demo(services: Services, today: dt.date | None = None) -> list[FetchOutcome]:
    """Fetch the demo datasets (synthetic); store indicators, a backtested strategy and a projection.

    Idempotent: a re-run stores no bar twice and reuses the indicators already stored.
    """
    requests = demo_requests(today or dt.date.today())
    outcomes = [await services.fetcher.run(request) for request in requests]
    for symbol in DEMO_SYMBOLS:
        for timeframe in DEMO_TIMEFRAMES:
            if timeframe != "1d" and symbol != DEMO_SYMBOLS[0]:
                continue  # only DEMO has minute bars
            calculation = IndicatorCalculateRequest(
                symbol=symbol, timeframe=timeframe, indicators=list(DEMO_INDICATORS)
            )
            await services.indicator_calculator.run(await services.indicator_calculator.plan(calculation))
    await seed_strategy(services)
    await seed_projection(services)
    return outcomes


async def seed_projection(services: Services) -> None:
    """A Monte-Carlo fan of DEMO's next 60 trading days (once)."""
    projections = services.projections
    if await projections.repository.for_series(DEMO_SYMBOLS[0], "1d"):
        return
    request = ProjectionRequest(symbol=DEMO_SYMBOLS[0], timeframe="1d", method="gbm", horizon=60)
    prepared = await projections.prepare(request)
    await projections.record(prepared, request, DEMO_AUTHOR, None)
    await projections.compute(prepared.projection_id)


async def seed_strategy(services: Services) -> None:
    """Store the demo strategy and backtest it over DEMO's daily bars (once)."""
    try:
        await services.strategies.repository.by_name(DEMO_STRATEGY.name, DEMO_AUTHOR)
        return
    except NotFound:
        pass
    strategy = await services.strategies.create(DEMO_STRATEGY, DEMO_AUTHOR)
    runs = services.strategy_runs
    prepared = await runs.prepare(
        BacktestRequest(strategy=strategy.id, symbol=DEMO_SYMBOLS[0], timeframe="1d", commission=0.001),
        DEMO_AUTHOR,
    )
    await runs.record(prepared, DEMO_AUTHOR, None)
    await runs.execute(prepared.run_id)
