"""The flat-file job: a load of Polygon flat files, its progress one entry with files for windows.

Running a load again is safe (rows replace their earlier copies), so a job whose worker died is
simply run again from its first file. A cancel is seen between files: the file being loaded
finishes, what was loaded is registered.
"""

from __future__ import annotations

from pipelines.ingest.flat_files import PROGRESS_LABEL, failures_text
from pipelines.jobs.task import JobContext, JobEnd
from schemas.flat_files import FlatFileProgress, FlatFileRequest
from schemas.jobs import SymbolProgress


def progress_labels(request: FlatFileRequest) -> list[str]:
    """The one progress entry of a flat-file job."""
    return [PROGRESS_LABEL]


async def load_flat_files(job: JobContext, request: FlatFileRequest) -> JobEnd:
    """Load the flat files of ``request`` for ``job``; a failing file stores nothing and the others go on."""

    async def report(progress: FlatFileProgress) -> None:
        await job.report(_job_progress(progress))

    outcome = await job.services.flat_files.run(request, report, should_stop=job.should_stop)
    return JobEnd(
        state="cancelled" if outcome.cancelled else "failed" if outcome.failed else "complete",
        progress=_job_progress(outcome.progress),
        error="\n".join(failures_text(outcome.progress.failures)) or None,
        message=outcome.message,
    )


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
