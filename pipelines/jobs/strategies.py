"""The strategy-run job: a backtest, sweep or walk-forward recorded as a run (``/strategies/apply`` …)."""

from __future__ import annotations

from pipelines.jobs.task import JobContext, JobEnd
from pipelines.strategies.runs import RunCancelled
from schemas.jobs import SymbolProgress
from schemas.strategies import StrategyRunJob


def progress_labels(request: StrategyRunJob) -> list[str]:
    """One progress entry: the run."""
    return [request.run_id]


async def run_strategy(job: JobContext, request: StrategyRunJob) -> JobEnd:
    """Execute the recorded run; it stores its results and publishes ``strategy_applied``.

    A sweep or walk-forward reports its combinations (or folds) done as the job's progress and
    stops between two of them once the job is cancelled.
    """

    async def report(done: int, total: int) -> None:
        await job.report([SymbolProgress(symbol=request.run_id, windows_done=done, windows_total=total)])

    try:
        message = await job.services.strategy_runs.execute(request.run_id, report, job.stop)
    except RunCancelled as exc:
        return JobEnd(state="cancelled", message=f"run {request.run_id} {exc}")
    progress = [SymbolProgress(symbol=request.run_id, windows_done=1, windows_total=1)]
    return JobEnd(state="complete", progress=progress, message=message)
