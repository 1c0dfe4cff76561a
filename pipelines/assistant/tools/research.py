"""Tools over strategies, backtests, sweeps, screens, projections, and pointing at the chart."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from pipelines.assistant.tools.base import Tool, ToolContext, ToolFailed, ToolOutput
from pipelines.strategies.language.errors import StrategyError
from schemas.chat import ChartReference, ProjectionReference, TradesReference
from schemas.projections import ProjectionJob, ProjectionMethod, ProjectionRequest
from schemas.strategies import (
    BacktestRequest,
    MetricName,
    ScreenRequest,
    StrategyCode,
    StrategyCreate,
    StrategyName,
    StrategyRunJob,
    SweepRequest,
)
from schemas.values import Symbol, Timeframe

MAX_TRADES_SHOWN = 20


class ListStrategiesArgs(msgspec.Struct, forbid_unknown_fields=True):
    """The saved strategies (id, name, description, author, last metrics), newest first."""

    limit: Annotated[int, msgspec.Meta(ge=1, le=200)] = 50


async def _list_strategies(ctx: ToolContext, args: ListStrategiesArgs) -> ToolOutput:
    strategies = await ctx.services.strategies.repository.all()
    listed = [
        {
            "strategy_id": s.id,
            "name": s.name,
            "description": s.description,
            "author": s.author,
            "version": s.version,
            "parameters": [p.name for p in s.parameters],
            "last_metrics": s.performance_metrics,
        }
        for s in strategies[: args.limit]
    ]
    return ToolOutput(
        result={"strategies": listed, "total": len(strategies)}, summary=f"{len(strategies)} strategies"
    )


class CreateStrategyArgs(msgspec.Struct, forbid_unknown_fields=True):
    """Save a new strategy written in the K2 strategy language (checked by the parser first)."""

    name: StrategyName
    code: StrategyCode
    description: Annotated[str, msgspec.Meta(max_length=4_000)] = ""


async def _create_strategy(ctx: ToolContext, args: CreateStrategyArgs) -> ToolOutput:
    try:
        strategy = await ctx.services.strategies.create(
            StrategyCreate(name=args.name, code=args.code, description=args.description), ctx.username
        )
    except StrategyError as exc:
        problems = "; ".join(f"line {p.line}, column {p.column}: {p.message}" for p in exc.problems)
        raise ToolFailed(f"the strategy does not parse: {problems or exc}") from None
    result = {
        "strategy_id": strategy.id,
        "name": strategy.name,
        "version": strategy.version,
        "parameters": msgspec.to_builtins(strategy.parameters),
    }
    return ToolOutput(result=result, summary=f"saved strategy {strategy.name!r} (id {strategy.id})")


class BacktestArgs(msgspec.Struct, forbid_unknown_fields=True):
    """Backtest a saved strategy on a stored series (signals at a bar's close, filled at the next open)."""

    strategy_id: Annotated[int, msgspec.Meta(ge=1)]
    symbol: Symbol
    timeframe: Timeframe = "1d"
    start: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    end: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    params: dict[str, float] = msgspec.field(default_factory=dict)
    commission: Annotated[float, msgspec.Meta(ge=0, lt=0.1)] = 0.0
    cash: Annotated[float, msgspec.Meta(gt=0, le=1e12)] = 10_000.0


class SweepArgs(BacktestArgs, forbid_unknown_fields=True):
    """Backtest every combination of parameter values and rank them (writes runs; asks the user)."""

    grid: dict[str, list[float]] = msgspec.field(default_factory=dict)
    metric: MetricName = "sharpe"


def _backtest_request(args: BacktestArgs, kind: type[BacktestRequest] = BacktestRequest, **extra: Any) -> Any:
    body: dict[str, Any] = {
        "strategy": args.strategy_id,
        "symbol": args.symbol.upper(),
        "timeframe": args.timeframe,
        "params": args.params,
        "commission": args.commission,
        "cash": args.cash,
        **extra,
    }
    if args.start:
        body["from"] = args.start
    if args.end:
        body["to"] = args.end
    try:
        return msgspec.convert(body, kind)
    except msgspec.ValidationError as exc:
        raise ToolFailed(str(exc)) from None


async def _run(ctx: ToolContext, request: BacktestRequest) -> tuple[str, Any]:
    runs = ctx.services.strategy_runs
    prepared = await runs.prepare(request, ctx.username)
    job = StrategyRunJob(run_id=prepared.run_id)
    job_id = await ctx.jobs.record("strategy_run", job)
    await runs.record(prepared, ctx.username, job_id)
    ran = await ctx.jobs.run("strategy_run", job_id, job)
    run = await runs.get(prepared.run_id, trades_limit=MAX_TRADES_SHOWN, trades_offset=0)
    if ran.state != "complete" or run.status != "complete":
        raise ToolFailed(f"the run {run.status}: {run.error or ran.error or ran.state}")
    return prepared.run_id, run


async def _run_backtest(ctx: ToolContext, args: BacktestArgs) -> ToolOutput:
    run_id, run = await _run(ctx, _backtest_request(args))
    result = {
        "run_id": run_id,
        "strategy": run.strategy_name,
        "symbol": run.symbol,
        "timeframe": run.timeframe,
        "params": run.params,
        "metrics": run.metrics,
        "uses_future_data": run.audit.uses_future_data if run.audit else None,
        "trades_total": run.trades_total,
        "first_trades": msgspec.to_builtins(run.trades or []),
    }
    reference = TradesReference(
        symbol=args.symbol.upper(),
        timeframe=args.timeframe,
        run_id=run_id,
        label=f"{run.strategy_name} trades",
    )
    metrics = run.metrics or {}
    summary = (
        f"{run.trades_total} trades, return {metrics.get('total_return_pct')}%,"
        f" Sharpe {metrics.get('sharpe')}"
    )
    return ToolOutput(result=result, summary=summary, references=[reference])


async def _run_sweep(ctx: ToolContext, args: SweepArgs) -> ToolOutput:
    if not args.grid:
        raise ToolFailed("a sweep needs a grid: parameter name → list of values")
    run_id, run = await _run(ctx, _backtest_request(args, SweepRequest, grid=args.grid, metric=args.metric))
    sweep = msgspec.to_builtins(run.sweep) if run.sweep else None
    if isinstance(sweep, dict) and isinstance(sweep.get("rows"), list):
        sweep["rows"] = sweep["rows"][:20]
    return ToolOutput(
        result={"run_id": run_id, "metric": args.metric, "sweep": sweep},
        summary=f"sweep ranked by {args.metric}",
    )


class ScreenArgs(msgspec.Struct, forbid_unknown_fields=True):
    """Evaluate one true/false expression of the strategy language on the last bar of every stored series."""

    expression: Annotated[str, msgspec.Meta(min_length=1, max_length=2_000)]
    timeframe: Timeframe = "1d"


async def _run_screen(ctx: ToolContext, args: ScreenArgs) -> ToolOutput:
    try:
        result = await ctx.services.screener.screen(
            ScreenRequest(expression=args.expression, timeframe=args.timeframe)
        )
    except StrategyError as exc:
        problems = "; ".join(f"column {p.column}: {p.message}" for p in exc.problems)
        raise ToolFailed(f"the expression does not parse: {problems or exc}") from None
    data = msgspec.to_builtins(result)
    data["matches"] = data["matches"][:50]
    return ToolOutput(result=data, summary=f"{result.total} of {result.screened} series match")


class ProjectionArgs(msgspec.Struct, forbid_unknown_fields=True):
    """Project a stored series ``horizon`` bars ahead (methods: naive, linreg, gbm, ets, autoarima)."""

    symbol: Symbol
    method: ProjectionMethod
    horizon: Annotated[int, msgspec.Meta(ge=1, le=500)]
    timeframe: Timeframe = "1d"
    params: dict[str, float] = msgspec.field(default_factory=dict)


async def _make_projection(ctx: ToolContext, args: ProjectionArgs) -> ToolOutput:
    projections = ctx.services.projections
    try:
        request = msgspec.convert(
            {
                "symbol": args.symbol.upper(),
                "timeframe": args.timeframe,
                "method": args.method,
                "horizon": args.horizon,
                "params": args.params,
            },
            ProjectionRequest,
        )
    except msgspec.ValidationError as exc:
        raise ToolFailed(str(exc)) from None
    prepared = await projections.prepare(request)
    job = ProjectionJob(projection_id=prepared.projection_id)
    job_id = await ctx.jobs.record("projection", job)
    await projections.record(prepared, request, ctx.username, job_id)
    ran = await ctx.jobs.run("projection", job_id, job)
    projection = await projections.get(prepared.projection_id)
    if ran.state != "complete":
        raise ToolFailed(f"the projection {ran.state}: {projection.error or ran.error}")
    reference = ProjectionReference(
        symbol=args.symbol.upper(),
        timeframe=args.timeframe,
        projection_id=prepared.projection_id,
        label=f"{args.method} h{args.horizon}",
    )
    return ToolOutput(
        result={"projection_id": prepared.projection_id, "projection": msgspec.to_builtins(projection)},
        summary=ran.message or f"{args.method} projection of {args.symbol.upper()}",
        references=[reference],
    )


class ShowArgs(msgspec.Struct, forbid_unknown_fields=True):
    """Point at evidence on the user's chart: markers on bars, price lines, highlighted ranges."""

    references: Annotated[list[ChartReference], msgspec.Meta(min_length=1, max_length=50)]


async def _show_on_chart(ctx: ToolContext, args: ShowArgs) -> ToolOutput:
    stored = {d.symbol for d in await ctx.services.datasets.all()}
    missing = sorted({r.symbol.upper() for r in args.references} - stored)
    if missing:
        raise ToolFailed(f"no stored bars of {', '.join(missing)}")
    return ToolOutput(
        result={"shown": len(args.references)},
        summary=f"{len(args.references)} references on the chart",
        references=list(args.references),
    )


TOOLS: list[Tool[Any]] = [
    Tool(
        "list_strategies",
        "List the saved strategies with their last metrics.",
        ListStrategiesArgs,
        _list_strategies,
    ),
    Tool(
        "create_strategy",
        "Save a new strategy written in the K2 strategy language; a parse error comes back with its line and"
        " column to correct.",
        CreateStrategyArgs,
        _create_strategy,
        role="analyst",
        writes=True,
    ),
    Tool(
        "run_backtest",
        "Backtest a saved strategy on a stored series and read its metrics and first trades.",
        BacktestArgs,
        _run_backtest,
        role="analyst",
    ),
    Tool(
        "run_sweep",
        "Backtest a grid of parameter values of a saved strategy and rank them.",
        SweepArgs,
        _run_sweep,
        role="analyst",
        writes=True,
    ),
    Tool(
        "run_screen",
        "Screen every stored series with a true/false expression on its last bar.",
        ScreenArgs,
        _run_screen,
    ),
    Tool(
        "make_projection",
        "Project a stored series forward and draw it on the chart.",
        ProjectionArgs,
        _make_projection,
        role="analyst",
    ),
    Tool(
        "show_on_chart",
        "Show evidence on the chart: bar markers, price lines, time ranges.",
        ShowArgs,
        _show_on_chart,
    ),
]
