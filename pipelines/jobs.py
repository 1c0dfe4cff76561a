"""Running jobs with their state and progress kept in Postgres and published as events."""

from __future__ import annotations

from pipelines.errors import PipelineError
from pipelines.fetch import FetchOutcome
from pipelines.services import Services
from schemas.datasets import FetchRequest
from schemas.events import FetchProgress
from schemas.jobs import SymbolProgress
from schemas.values import JobState
from warehouse.errors import WarehouseError


async def run_fetch_job(
    services: Services, job_id: str, request: FetchRequest, owner: str
) -> FetchOutcome | None:
    """Run the fetch job ``job_id`` (recorded as queued); return its outcome, or None if it failed whole."""
    jobs, publisher = services.jobs, services.publisher
    await jobs.update(job_id, state="running")

    async def report(progress: list[SymbolProgress]) -> None:
        await jobs.update(job_id, progress=progress)
        await publisher.publish(FetchProgress(job_id=job_id, owner=owner, state="running", symbols=progress))

    try:
        outcome = await services.fetcher.run(request, report)
    except (PipelineError, WarehouseError) as exc:
        await jobs.update(job_id, state="failed", error=str(exc))
        await publisher.publish(FetchProgress(job_id=job_id, owner=owner, state="failed", symbols=[]))
        return None
    failed = outcome.failed
    state: JobState = "failed" if failed else "complete"
    error = "; ".join(f"{item.symbol}: {item.error}" for item in failed) or None
    empty = [item.symbol for item in outcome.progress if item.error is None and item.bars == 0]
    message = f"stored {outcome.bars:,} bars for {len(outcome.datasets)} of {len(outcome.progress)} symbols"
    if empty:
        message += f"; no bars in range for {', '.join(empty)}"
    await jobs.update(job_id, state=state, progress=outcome.progress, error=error, message=message)
    await publisher.publish(FetchProgress(job_id=job_id, owner=owner, state=state, symbols=outcome.progress))
    return outcome
