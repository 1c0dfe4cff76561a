"""The strategy-run job: a backtest, sweep or walk-forward recorded as a run (``/strategies/apply`` …)."""

from __future__ import annotations

from pipelines.jobs.task import JobContext, JobEnd
from schemas.jobs import SymbolProgress
from schemas.strategies import StrategyRunJob


def progress_labels(request: StrategyRunJob) -> list[str]:
    """One progress entry: the run."""
    return [request.run_id]


async def run_strategy(job: JobContext, request: StrategyRunJob) -> JobEnd:
    """Execute the recorded run; it stores its results and publishes ``strategy_applied``."""
    message = await job.services.strategy_runs.execute(request.run_id)
    progress = [SymbolProgress(symbol=request.run_id, windows_done=1, windows_total=1)]
    return JobEnd(state="complete", progress=progress, message=message)
