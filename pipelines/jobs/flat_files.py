"""A flat-file load run as a background job: its progress as a job's, its outcome recorded and published."""

from __future__ import annotations

from pipelines.errors import PipelineError
from pipelines.ingest.flat_files import PROGRESS_LABEL, FlatFileLoader, FlatFileOutcome, failures_text
from pipelines.publish import EventPublisher
from schemas.events import FetchProgress
from schemas.flat_files import FlatFileProgress, FlatFileRequest
from schemas.jobs import SymbolProgress
from warehouse.catalog.jobs import JobRepository
from warehouse.errors import WarehouseError


def _job_progress(progress: FlatFileProgress) -> list[SymbolProgress]:
    """A flat-file load as a job's progress: one entry, files standing for windows."""
    failures = progress.failures
    error = f"{len(failures)} file(s) failed; first: {failures_text(failures, 1)[0]}" if failures else None
    return [
        SymbolProgress(
            symbol=PROGRESS_LABEL,
            windows_done=progress.files_done,
            windows_total=progress.files_total,
            bars=progress.bars,
            error=error,
        )
    ]


async def run_flat_file_job(
    loader: FlatFileLoader,
    jobs: JobRepository,
    publisher: EventPublisher,
    job_id: str,
    request: FlatFileRequest,
    owner: str,
) -> FlatFileOutcome | None:
    """Run the flat-file job ``job_id`` (recorded as queued); its outcome, or None if it failed whole."""
    await jobs.update(job_id, state="running")

    async def report(progress: FlatFileProgress) -> None:
        items = _job_progress(progress)
        await jobs.update(job_id, progress=items)
        await publisher.publish(FetchProgress(job_id=job_id, owner=owner, state="running", symbols=items))

    async def cancelled() -> bool:
        return (await jobs.get(job_id)).state == "cancelled"

    try:
        outcome = await loader.run(request, report, should_stop=cancelled)
    except (PipelineError, WarehouseError) as exc:
        state = await jobs.finish(job_id, "failed", error=str(exc))
        await publisher.publish(FetchProgress(job_id=job_id, owner=owner, state=state, symbols=[]))
        return None
    error = "\n".join(failures_text(outcome.progress.failures)) or None
    items = _job_progress(outcome.progress)
    state = await jobs.finish(
        job_id,
        "failed" if outcome.failed else "complete",
        progress=items,
        error=error,
        message=outcome.message,
    )
    await publisher.publish(FetchProgress(job_id=job_id, owner=owner, state=state, symbols=items))
    return outcome
