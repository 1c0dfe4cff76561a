"""Demo data for a first run without a Polygon key: synthetic bars, labelled as synthetic."""

from __future__ import annotations

import datetime as dt
from typing import Final

from pipelines.ingest.fetch import FetchOutcome
from pipelines.services import Services
from schemas.datasets import FetchRequest
from schemas.indicators import IndicatorCalculateRequest

DEMO_SYMBOLS: Final = ("DEMO", "SYNTH")
"""Tickers no exchange lists, so demo bars can never pass for a real company's."""

MINUTE_DAYS: Final = 365
DAILY_YEARS: Final = 10
DEMO_INDICATORS: Final = ("sma(50)", "ema(20)", "bbands(20,2,2)", "rsi(14)", "macd(12,26,9)", "svwap")
"""Indicators stored over the demo series when they are seeded, ready to draw."""
DEMO_TIMEFRAMES: Final = ("1d", "1h")


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
    """Fetch the demo datasets from the synthetic source and store indicators over them.

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
    return outcomes
