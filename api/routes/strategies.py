"""``/api/v1/strategies``: the strategy catalog, backtests, sweeps, walk-forward runs and their results."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post, put
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from api.auth.guards import role
from api.auth.principal import principal_of
from api.deps import RuntimeDep, ServicesDep
from api.runtime import Runtime
from pipelines.jobs.kinds import JobKind
from pipelines.jobs.queue import enqueue
from pipelines.jobs.submit import record
from pipelines.strategies.catalog import check
from pipelines.strategies.runs import RunRequest
from schemas.strategies import (
    BacktestRequest,
    EquityCurve,
    RunAccepted,
    Strategy,
    StrategyCheck,
    StrategyCheckResult,
    StrategyCreate,
    StrategyRun,
    StrategyRunJob,
    StrategyRunSummary,
    StrategyUpdate,
    StrategyVersion,
    SweepRequest,
    WalkForwardRequest,
)

StrategyId = Annotated[int, PathParameter(ge=1, le=2**62, description="Strategy id")]
RunId = Annotated[str, PathParameter(pattern=r"^[0-9a-f]{32}$", description="Run id")]


async def start_run(runtime: Runtime, request: RunRequest, owner: str) -> RunAccepted:
    """Check a run, record it and its job, and queue the job."""
    runs = runtime.services.strategy_runs
    prepared = await runs.prepare(request, owner)
    job = StrategyRunJob(run_id=prepared.run_id)
    job_id = await record(runtime.services.jobs, JobKind.STRATEGY_RUN, job, owner)
    await runs.record(prepared, owner, job_id)
    await enqueue(runtime.queue, JobKind.STRATEGY_RUN, job_id, job, owner)
    return RunAccepted(
        run_id=prepared.run_id, job_id=job_id, status_url=f"/api/v1/strategies/runs/{prepared.run_id}"
    )


class StrategiesController(Controller):
    """Strategies: write them, check them, run them, read what they did."""

    path = "/api/v1/strategies"
    tags = ["strategies"]

    @get("/list", operation_id="listStrategies", opt=role("viewer"))
    async def list_strategies(self, services: ServicesDep) -> list[Strategy]:
        """Every strategy at its latest version, with the metrics of its latest backtest."""
        return await services.strategies.repository.all()

    @post("/check", operation_id="checkStrategy", status_code=200, opt={**role("viewer"), "audit": False})
    async def check_strategy(self, data: JSONBody[StrategyCheck]) -> StrategyCheckResult:
        """Parse strategy text or a screen expression: problems with line and column, or what it declares."""
        return check(data)

    @post("/create", operation_id="createStrategy", status_code=HTTP_201_CREATED, opt=role("analyst"))
    async def create(
        self, data: JSONBody[StrategyCreate], services: ServicesDep, request: Request[Any, Any, Any]
    ) -> Strategy:
        """Store a strategy (version 1). Its code is parsed first: a problem is a 422 naming line and column.

        Names are unique per author (409 otherwise).
        """
        return await services.strategies.create(data, principal_of(request).username)

    @get("/{strategy_id:int}", operation_id="getStrategy", opt=role("viewer"))
    async def get_strategy(self, strategy_id: StrategyId, services: ServicesDep) -> Strategy:
        """One strategy at its latest version."""
        return await services.strategies.repository.get(strategy_id)

    @put("/{strategy_id:int}", operation_id="updateStrategy", opt=role("analyst"))
    async def update(
        self,
        strategy_id: StrategyId,
        data: JSONBody[StrategyUpdate],
        services: ServicesDep,
        request: Request[Any, Any, Any],
    ) -> Strategy:
        """Change a strategy's code, name or description: a new version. Its author or an admin only."""
        principal = principal_of(request)
        return await services.strategies.update(
            strategy_id, data, principal.username, admin=principal.role == "admin"
        )

    @delete(
        "/{strategy_id:int}",
        operation_id="deleteStrategy",
        status_code=HTTP_204_NO_CONTENT,
        opt=role("analyst"),
    )
    async def delete_strategy(
        self, strategy_id: StrategyId, services: ServicesDep, request: Request[Any, Any, Any]
    ) -> None:
        """Delete a strategy with its versions and runs. Its author or an admin only."""
        principal = principal_of(request)
        await services.strategies.delete(strategy_id, principal.username, admin=principal.role == "admin")

    @get("/{strategy_id:int}/versions", operation_id="strategyVersions", opt=role("viewer"))
    async def versions(self, strategy_id: StrategyId, services: ServicesDep) -> list[StrategyVersion]:
        """Every version of a strategy's text, newest first."""
        return await services.strategies.repository.versions(strategy_id)

    @get("/{strategy_id:int}/runs", operation_id="strategyRuns", opt=role("viewer"))
    async def runs(self, strategy_id: StrategyId, services: ServicesDep) -> list[StrategyRunSummary]:
        """A strategy's latest 100 runs, newest first."""
        await services.strategies.repository.get(strategy_id)
        return await services.strategy_runs.runs.for_strategy(strategy_id)

    @post("/apply", operation_id="applyStrategy", status_code=HTTP_202_ACCEPTED, opt=role("analyst"))
    async def apply(
        self, data: JSONBody[BacktestRequest], runtime: RuntimeDep, request: Request[Any, Any, Any]
    ) -> RunAccepted:
        """Backtest a strategy over a stored series, as a job; follow it at ``status_url``.

        Signals are read on each bar's close and filled at the next bar's open. The run records
        the strategy version and the data it saw, is checked for look-ahead, and is announced as
        ``strategy_applied``. An unknown strategy or a series with no bars is a 404; a bad
        parameter override a 422 — both before anything is queued.
        """
        return await start_run(runtime, data, principal_of(request).username)

    @post("/sweep", operation_id="sweepStrategy", status_code=HTTP_202_ACCEPTED, opt=role("analyst"))
    async def sweep(
        self, data: JSONBody[SweepRequest], runtime: RuntimeDep, request: Request[Any, Any, Any]
    ) -> RunAccepted:
        """Backtest every combination of a grid over declared parameters (at most 10,000), as one job."""
        return await start_run(runtime, data, principal_of(request).username)

    @post(
        "/walk-forward",
        operation_id="walkForwardStrategy",
        status_code=HTTP_202_ACCEPTED,
        opt=role("analyst"),
    )
    async def walk_forward(
        self, data: JSONBody[WalkForwardRequest], runtime: RuntimeDep, request: Request[Any, Any, Any]
    ) -> RunAccepted:
        """Optimise the grid in rolling in-sample windows and test each winner out of sample."""
        return await start_run(runtime, data, principal_of(request).username)

    @get("/runs/{run_id:str}", operation_id="getStrategyRun", opt=role("viewer"))
    async def get_run(
        self,
        run_id: RunId,
        services: ServicesDep,
        trades_limit: Annotated[int, QueryParameter(ge=0, le=100_000)] = 1000,
        trades_offset: Annotated[int, QueryParameter(ge=0, le=100_000_000)] = 0,
    ) -> StrategyRun:
        """A run: its status, and once complete its metrics, a page of its trades, the audit, the pin."""
        return await services.strategy_runs.get(
            run_id, trades_limit=trades_limit, trades_offset=trades_offset
        )

    @get("/runs/{run_id:str}/equity", operation_id="getStrategyRunEquity", opt=role("viewer"))
    async def equity(
        self,
        run_id: RunId,
        services: ServicesDep,
        points: Annotated[int, QueryParameter(ge=2, le=50_000)] = 2000,
    ) -> EquityCurve:
        """A complete backtest's equity curve and drawdown, at most ``points`` points (lows kept)."""
        return await services.strategy_runs.equity(run_id, points)

    @post(
        "/runs/{run_id:str}/rerun",
        operation_id="rerunStrategyRun",
        status_code=HTTP_202_ACCEPTED,
        opt=role("analyst"),
    )
    async def rerun(self, run_id: RunId, runtime: RuntimeDep, request: Request[Any, Any, Any]) -> RunAccepted:
        """Run an earlier run again: the same strategy version, parameters, settings and window."""
        again = await runtime.services.strategy_runs.rerun_request(run_id)
        return await start_run(runtime, again, principal_of(request).username)
