"""Screens: one boolean expression of the strategy language on the last bar of every stored series.

Each symbol's series (the coarsest stored one that tiles the timeframe, as charts choose) is read
back only as far as the expression needs to settle (``warmup_bars`` buckets, with a calendar
margin for nights, weekends and holidays); a series with fewer buckets is read whole. The
expression is evaluated vectorised over those buckets and read at the last one (at or before
``at``). Recursive indicators (EMA, RSI …) therefore start from a later bucket than over the
whole history, and agree with it once settled — the settling the indicator catalog measures.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
from collections import defaultdict
from collections.abc import Mapping
from typing import Final

from pipelines.charts.slices import choose_series
from pipelines.indicators.own import OwnContext
from pipelines.indicators.specs import BucketSeries
from pipelines.strategies.language.evaluate import StrategyInputs, evaluate_expression, warmup_bars
from pipelines.strategies.language.syntax import Expression, parse_expression
from pipelines.work_pool import WorkPool
from schemas.bars import SeriesKey
from schemas.datasets import Dataset, series_of
from schemas.strategies import ScreenMatch, ScreenRequest, ScreenResult
from schemas.values import BARS_FROM, BarWidth, parse_time_point
from warehouse.catalog.datasets import DatasetRepository
from warehouse.clickhouse.bars import BarStore
from warehouse.errors import InvalidQuery, WarehouseClientError

_CALENDAR_MARGIN_DAILY = 1.6
"""Calendar time per daily bucket: 7/5 for weekends, and holidays on top."""
_CALENDAR_MARGIN_INTRADAY = 6.0
"""Calendar time per intraday bucket: a regular session is 6.5 of 24 hours, five days of seven."""
_PARALLEL = 8
"""Series read at once (the reads wait on ClickHouse; the evaluation runs in the work pool)."""


class _Outside:
    """A symbol stored only coarser than the screen's timeframe: not in its universe."""


_OUTSIDE: Final = _Outside()


class Screener:
    """Runs screens over every stored series."""

    def __init__(self, catalog: DatasetRepository, bars: BarStore, work: WorkPool) -> None:
        self.catalog = catalog
        self.bars = bars
        self.work = work

    async def screen(self, request: ScreenRequest) -> ScreenResult:
        """The symbols whose last bar (at or before ``at``) satisfies the expression, sorted and paged.

        Raises:
            StrategyError: the expression does not parse or is not true/false per bar.
            InvalidQuery: ``sort`` names no column of the answer.
        """
        started = time.perf_counter()
        expression = parse_expression(request.expression, request.params)
        params = dict(request.params)
        needed = warmup_bars(expression, params) + 1
        end = parse_time_point(request.at, end_of_day=True) if request.at is not None else None
        by_symbol: dict[tuple[str, bool], list[Dataset]] = defaultdict(list)
        for dataset in await self.catalog.all():
            if dataset.first_bar is not None:
                by_symbol[(dataset.symbol, dataset.adjusted)].append(dataset)
        limiter = asyncio.Semaphore(_PARALLEL)

        async def one(datasets: list[Dataset]) -> ScreenMatch | str | _Outside | None:
            async with limiter:
                return await self._one(datasets, request, expression, params, needed, end)

        everything = await asyncio.gather(*(one(datasets) for _, datasets in sorted(by_symbol.items())))
        answers = [answer for answer in everything if answer is not _OUTSIDE]
        matches = [answer for answer in answers if isinstance(answer, ScreenMatch)]
        skipped = [answer for answer in answers if isinstance(answer, str)]
        columns = list(matches[0].values) if matches else ["close"]
        if request.sort is not None and request.sort not in columns and request.sort != "symbol":
            raise InvalidQuery(
                f"cannot sort by {request.sort!r}: the columns are symbol, {', '.join(columns)}"
            )
        key = request.sort or "symbol"

        def order(match: ScreenMatch) -> tuple[bool, float | str]:
            if key == "symbol":
                return (False, match.symbol)
            value = match.values.get(key)
            missing = value is None
            return (missing, 0.0 if value is None else (-value if request.descending else value))

        matches.sort(key=order)
        if key == "symbol" and request.descending:
            matches.reverse()
        page = matches[request.offset : request.offset + request.limit]
        return ScreenResult(
            expression=request.expression,
            timeframe=request.timeframe,
            columns=columns,
            matches=page,
            total=len(matches),
            screened=len(answers) - len(skipped),
            skipped=skipped,
            duration_ms=(time.perf_counter() - started) * 1000,
        )

    async def _one(
        self,
        datasets: list[Dataset],
        request: ScreenRequest,
        expression: Expression,
        params: Mapping[str, float],
        needed: int,
        end: dt.datetime | None,
    ) -> ScreenMatch | str | _Outside | None:
        """A match, the reason a series was skipped, None when it does not match, or outside the screen."""
        try:
            ref, width = choose_series(datasets, request.timeframe)
        except WarehouseClientError as exc:
            return f"{datasets[0].symbol}: {exc}"
        if width != request.timeframe:
            return _OUTSIDE  # stored too coarse for this timeframe: not part of this screen's universe
        last = max(d.last_bar for d in datasets if d.last_bar is not None)
        stop = min(end, last) if end is not None else last
        series = await self._tail(ref, width, request, stop, needed)
        if len(series) == 0:
            return f"{ref.symbol}: no {width} bar at or before {stop:%Y-%m-%d %H:%M}"
        if len(series) < needed:
            return f"{ref.symbol}: {len(series)} {width} bars, the expression needs {needed}"
        inputs = StrategyInputs(bars=series, context=OwnContext(width=width, session=request.session))
        holds, terms = await self.work.run(evaluate_expression, expression, inputs, params)
        if not bool(holds[-1]):
            return None
        values: dict[str, float | None] = {"close": float(series.close[-1])}
        for name, column in terms.items():
            value = float(column[-1])
            values[name] = value if math.isfinite(value) else None
        table = next((d.table for d in datasets if series_of(d) == ref), datasets[0].table)
        return ScreenMatch(symbol=ref.symbol, table=table, ts=int(series.ts[-1]), values=values)

    async def _tail(
        self, ref: SeriesKey, width: str, request: ScreenRequest, stop: dt.datetime, needed: int
    ) -> BucketSeries:
        """At least ``needed`` buckets ending at ``stop`` when the series holds them (else all it holds)."""
        bucket = BarWidth.of(width)
        margin = _CALENDAR_MARGIN_INTRADAY if bucket.is_intraday else _CALENDAR_MARGIN_DAILY
        span = dt.timedelta(milliseconds=bucket.approx_ms * needed * margin) + dt.timedelta(days=7)
        start = max(BARS_FROM, stop - span)
        series = BucketSeries.of(await self.bars.bucket_series(ref, width, request.session, start, stop))
        if len(series) < needed and start > BARS_FROM:
            series = BucketSeries.of(
                await self.bars.bucket_series(ref, width, request.session, BARS_FROM, stop)
            )
        if len(series) > needed:
            series = series.tail(len(series) - needed)
        return series
