"""Strategy runs: a backtest, sweep or walk-forward request checked, executed as a job, stored, announced.

``prepare`` refuses what it can before anything is queued (unknown strategy, bad parameters, a
series with no bars: 4xx); ``execute`` is the job. A run is pinned to the strategy version it ran
and the data it saw (the series' version over the run's window and the bars' extent), so a re-run
names the same text and tells whether the data has changed since.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np

from pipelines.charts.slices import ChartSlices
from pipelines.errors import PipelineClientError, PipelineError
from pipelines.indicators.own import OwnContext
from pipelines.indicators.specs import BucketSeries
from pipelines.publish import EventPublisher
from pipelines.series.versions import SeriesVersion, SeriesVersions, utc_months
from pipelines.strategies.audit import audit, trace_for
from pipelines.strategies.backtest import BacktestSettings, run_backtest, trade_table
from pipelines.strategies.catalog import StrategyCatalog
from pipelines.strategies.language.evaluate import StrategyInputs, resolve_params
from pipelines.strategies.language.syntax import Program, parse_program
from pipelines.strategies.sweeps import Progress, combinations, sweep, walk_forward
from schemas.bars import ChartDataRequest
from schemas.strategies import (
    BacktestRequest,
    EquityCurve,
    RunKind,
    SeriesPin,
    Strategy,
    StrategyApplied,
    StrategyRun,
    SweepRequest,
    WalkForwardRequest,
)
from warehouse.catalog.strategy_runs import RunOutcome, StrategyRunRepository
from warehouse.clickhouse.bars import BarStore

RunRequest = BacktestRequest | SweepRequest | WalkForwardRequest

_KINDS: dict[RunKind, type[BacktestRequest]] = {
    "backtest": BacktestRequest,
    "sweep": SweepRequest,
    "walk_forward": WalkForwardRequest,
}


def kind_of(request: RunRequest) -> RunKind:
    """What kind of run ``request`` asks for."""
    if isinstance(request, WalkForwardRequest):
        return "walk_forward"
    if isinstance(request, SweepRequest):
        return "sweep"
    return "backtest"


class TooFewBars(PipelineClientError):
    """The window holds too few bars to backtest."""


class RunCancelled(PipelineError):
    """The run's job was cancelled."""


ProgressReport = Callable[[int, int], Coroutine[Any, Any, None]]
"""Told how many of a run's steps (combinations, folds) are done, of how many."""


class _Progress:
    """A sweep's progress callback, called in its thread: reports (throttled) and stops when told."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, report: ProgressReport | None, stop: asyncio.Event | None
    ) -> None:
        self.loop = loop
        self.report = report
        self.stop = stop
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        if self.stop is not None and self.stop.is_set():
            raise RunCancelled(f"cancelled after {done:,} of {total:,}")
        now = time.monotonic()
        if self.report is not None and (now - self.last >= 0.5 or done == total):
            self.last = now
            asyncio.run_coroutine_threadsafe(self.report(done, total), self.loop)


@dataclass(frozen=True, slots=True)
class PreparedRun:
    """A run request checked: what will run, over which series."""

    run_id: str
    kind: RunKind
    strategy: Strategy
    version: int
    symbol: str
    timeframe: str
    request: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RunBars:
    """The bars a run reads, and the pin that names them."""

    inputs: StrategyInputs
    pin: SeriesPin


def _window_token(version: SeriesVersion, start: dt.datetime, end: dt.datetime) -> str:
    """A token that changes whenever bars between ``start`` and ``end`` may have changed."""
    months = sum(version.months.get(year * 100 + month, 0) for year, month in utc_months(start, end))
    return f"{version.epoch}.{version.everywhere}.{months}"


class StrategyRuns:
    """Backtests, sweeps and walk-forward runs over stored series."""

    def __init__(
        self,
        catalog: StrategyCatalog,
        runs: StrategyRunRepository,
        charts: ChartSlices,
        bars: BarStore,
        versions: SeriesVersions,
        publisher: EventPublisher,
    ) -> None:
        self.catalog = catalog
        self.runs = runs
        self.charts = charts
        self.bars = bars
        self.versions = versions
        self.publisher = publisher

    async def prepare(self, request: RunRequest, caller: str) -> PreparedRun:
        """Check a run request before it is queued.

        Raises:
            NotFound: no such strategy (or version), or no bars for the symbol or dataset.
            StrategyError: a parameter override is unknown or out of range.
            InvalidGrid: a sweep grid names undeclared parameters or has too many combinations.
            InvalidQuery: neither or both of ``symbol`` and ``table``; a timeframe the series cannot serve.
        """
        strategy, text = await self.catalog.resolve(request.strategy, caller, request.strategy_version)
        program = parse_program(text.code)
        params = resolve_params(program, request.params)
        if isinstance(request, SweepRequest):
            combinations(program, params, request.grid)
        plan = await self.charts.plan(self._chart(request))
        return PreparedRun(
            run_id=uuid.uuid4().hex,
            kind=kind_of(request),
            strategy=strategy,
            version=text.version,
            symbol=plan.ref.symbol,
            timeframe=plan.timeframe,
            request=msgspec.to_builtins(request)
            | {"strategy": strategy.id, "strategy_version": text.version},
        )

    async def record(self, prepared: PreparedRun, owner: str, job_id: str | None) -> None:
        """Record a prepared run as queued by ``job_id`` (None: run here, by the caller)."""
        await self.runs.create(
            run_id=prepared.run_id,
            kind=prepared.kind,
            strategy_id=prepared.strategy.id,
            strategy_version=prepared.version,
            owner=owner,
            request=prepared.request,
            symbol=prepared.symbol,
            timeframe=prepared.timeframe,
        )
        if job_id is not None:
            await self.runs.set_job(prepared.run_id, job_id)

    async def rerun_request(self, run_id: str) -> RunRequest:
        """The request of an earlier run, pinned to its strategy version and its window.

        Raises:
            NotFound: no such run.
        """
        run = await self.runs.get(run_id, trades_limit=0)
        request = dict(run.request)
        if run.pin is not None and run.pin.first_bar is not None and run.pin.last_bar is not None:
            request["from"] = run.pin.first_bar.isoformat()
            request["to"] = run.pin.last_bar.isoformat()
        return msgspec.convert(request, _KINDS[run.kind])

    @staticmethod
    def _chart(request: RunRequest) -> ChartDataRequest:
        return ChartDataRequest(
            symbol=request.symbol,
            table=request.table,
            timeframe=request.timeframe,
            from_=request.from_,
            to=request.to,
            adjusted=request.adjusted,
            session=request.session,
        )

    async def load(self, request: RunRequest) -> RunBars:
        """The bars ``request`` runs over, with the pin naming them.

        Raises:
            TooFewBars: the window holds fewer than two bars.
        """
        plan = await self.charts.plan(self._chart(request))
        if plan.start is None or plan.end is None:
            raise TooFewBars("the window holds no stored bars of the series")
        version = await self.versions.current(plan.ref)
        table = await self.bars.bucket_series(plan.ref, plan.timeframe, request.session, plan.start, plan.end)
        series = BucketSeries.of(table)
        if len(series) < 2:
            raise TooFewBars(
                f"the window holds {len(series)} {plan.timeframe} bar(s); a backtest needs 2 or more"
            )
        first = dt.datetime.fromtimestamp(int(series.ts[0]) / 1000, tz=dt.UTC)
        last = dt.datetime.fromtimestamp(int(series.ts[-1]) / 1000, tz=dt.UTC)
        pin = SeriesPin(
            symbol=plan.ref.symbol,
            series=plan.ref.series,
            adjusted=plan.ref.adjusted,
            timeframe=plan.timeframe,
            session=request.session,
            version=_window_token(version, first, last),
            first_bar=first,
            last_bar=last,
            bars=len(series),
        )
        context = OwnContext(width=plan.timeframe, session=request.session)
        return RunBars(inputs=StrategyInputs(bars=series, context=context), pin=pin)

    async def execute(
        self, run_id: str, report: ProgressReport | None = None, stop: asyncio.Event | None = None
    ) -> str:
        """Run a recorded run (the job); store and announce what came out. Returns a line for people.

        ``report`` is told a sweep's or walk-forward's progress (combinations or folds done, of how
        many), at most twice a second; once ``stop`` is set, they stop between two combinations.

        Raises:
            RunCancelled: ``stop`` was set (the run is recorded as failed, "cancelled").
            PipelineClientError, WarehouseClientError: the run failed in words (also recorded on the run).
        """
        run = await self.runs.get(run_id, trades_limit=0)
        request = msgspec.convert(run.request, _KINDS[run.kind])
        await self.runs.start(run_id)
        started = time.perf_counter()
        progress = _Progress(asyncio.get_running_loop(), report, stop)
        try:
            _, text = await self.catalog.resolve(run.strategy_id, run.owner, run.strategy_version)
            program = parse_program(text.code)
            params = resolve_params(program, request.params)
            loaded = await self.load(request)
            # A thread of its own, not the request work pool: a long sweep must not hold a chart's slot.
            outcome = await asyncio.to_thread(
                self._compute, program, params, request, loaded, started, progress
            )
            await self.runs.complete(run_id, outcome)
        except Exception as exc:
            await self.runs.fail(run_id, str(exc) or type(exc).__name__)
            await self._announce(run, "failed", error=str(exc) or type(exc).__name__)
            raise
        if run.kind == "backtest" and outcome.metrics is not None:
            await self.catalog.repository.record_metrics(run.strategy_id, run_id, outcome.metrics)
        await self._announce(
            run,
            "complete",
            metrics=outcome.metrics,
            uses_future_data=outcome.audit.uses_future_data if outcome.audit else None,
            duration_ms=outcome.duration_ms,
        )
        return self._summary(run.kind, outcome)

    @staticmethod
    def _compute(
        program: Program,
        params: dict[str, float],
        request: RunRequest,
        loaded: RunBars,
        started: float,
        progress: Progress,
    ) -> RunOutcome:
        settings = BacktestSettings(
            cash=request.cash, commission=request.commission, slippage=request.slippage, mode=request.mode
        )
        inputs = loaded.inputs
        if isinstance(request, WalkForwardRequest):
            combos = combinations(program, params, request.grid)
            folds = walk_forward(
                program,
                inputs,
                combos,
                settings,
                request.metric,
                request.grid,
                request.folds,
                request.in_sample_ratio,
                progress,
            )
            return RunOutcome(
                pin=loaded.pin,
                params=params,
                result={"walk_forward": msgspec.to_builtins(folds)},
                duration_ms=(time.perf_counter() - started) * 1000,
            )
        if isinstance(request, SweepRequest):
            combos = combinations(program, params, request.grid)
            table = sweep(program, inputs, combos, settings, request.metric, request.grid, progress)
            return RunOutcome(
                pin=loaded.pin,
                params=params,
                result={"sweep": msgspec.to_builtins(table)},
                duration_ms=(time.perf_counter() - started) * 1000,
            )
        trace = trace_for(len(inputs.bars))
        result = run_backtest(program, inputs, params, settings, trace=trace)
        checked = audit(program, inputs, params, trace)
        return RunOutcome(
            pin=loaded.pin,
            params=params,
            metrics=result.metrics,
            audit=checked,
            trades=trade_table(inputs.bars, result.simulation),
            equity_ts=inputs.bars.ts,
            equity=result.simulation.equity,
            duration_ms=(time.perf_counter() - started) * 1000,
        )

    @staticmethod
    def _summary(kind: RunKind, outcome: RunOutcome) -> str:
        bars = f"{outcome.pin.bars:,} {outcome.pin.timeframe} bars of {outcome.pin.symbol}"
        if kind == "backtest" and outcome.metrics is not None:
            ret = outcome.metrics.get("total_return_pct")
            flag = "; USES FUTURE DATA" if outcome.audit and outcome.audit.uses_future_data else ""
            shown = f"{ret:+.2f}%" if ret is not None else "n/a"
            trades = outcome.trades.num_rows if outcome.trades is not None else 0
            return f"backtest over {bars}: {trades} trades, return {shown}{flag}"
        return f"{kind.replace('_', '-')} over {bars}"

    async def _announce(self, run: StrategyRun, status: str, **fields: Any) -> None:
        await self.publisher.publish(
            StrategyApplied(
                run_id=run.run_id,
                kind=run.kind,
                status=status,  # type: ignore[arg-type]
                strategy_id=run.strategy_id,
                strategy_name=run.strategy_name,
                strategy_version=run.strategy_version,
                symbol=run.symbol,
                timeframe=run.timeframe,
                owner=run.owner,
                job_id=run.job_id,
                **fields,
            )
        )

    async def get(self, run_id: str, *, trades_limit: int, trades_offset: int) -> StrategyRun:
        """A run with a page of its trades.

        Raises:
            NotFound: no such run.
        """
        return await self.runs.get(run_id, trades_limit=trades_limit, trades_offset=trades_offset)

    async def equity(self, run_id: str, points: int) -> EquityCurve:
        """A run's equity curve thinned to at most ``points`` points (each bucket's lowest and last).

        Raises:
            NotFound: no such run or no curve.
        """
        ts, equity = await self.runs.equity(run_id)
        peak = np.maximum.accumulate(equity)
        drawdown = np.where(peak > 0, (equity / peak - 1) * 100, 0.0)
        total = len(ts)
        if total > points:
            edges = np.linspace(0, total, points // 2 + 1).astype(np.int64)
            keep: list[int] = []
            for start, stop in itertools.pairwise(edges):
                if stop > start:
                    low = int(start + np.argmin(equity[start:stop]))
                    keep.extend(sorted({low, int(stop - 1)}))
            index = np.asarray(keep, dtype=np.int64)
        else:
            index = np.arange(total)
        return EquityCurve(
            run_id=run_id,
            points=[(int(ts[i]), float(equity[i]), float(drawdown[i])) for i in index],
            total=total,
        )
