"""The fetch job: bars of symbols (or the whole market) from a source, checkpointed window by window.

The runner (:mod:`pipelines.jobs.runner`) starts it, beats its heartbeat and stops it on a cancel;
a job whose worker died is run again and skips the windows its checkpoints say are stored.
"""

from __future__ import annotations

from typing import Final

from pipelines.ingest.fetch import MARKET, FetchOutcome
from pipelines.jobs.task import JobContext, JobEnd
from schemas.datasets import FetchRequest
from schemas.values import JobState

FAILED_MESSAGE: Final = (
    "bars stored before the failure are kept; the same fetch run again resumes where it stopped"
)
"""The message of a fetch that failed whole."""
_SYMBOLS_LISTED: Final = 20


def progress_labels(request: FetchRequest) -> list[str]:
    """One progress entry per symbol, or :data:`~pipelines.ingest.fetch.MARKET` for the whole market."""
    return request.symbols or [MARKET]


async def fetch_bars(job: JobContext, request: FetchRequest) -> JobEnd:
    """Fetch ``request`` for ``job``; a cancel stops it at once, keeping what it stored."""
    outcome = await job.services.fetcher.run(request, job.report, job_id=job.job_id, stop=job.stop)
    state: JobState = "cancelled" if outcome.cancelled else "failed" if outcome.failed else "complete"
    return JobEnd(
        state=state,
        progress=outcome.progress,
        error=_error_of(outcome) if state == "failed" else None,
        message=_message_of(request, outcome),
    )


def _error_of(outcome: FetchOutcome) -> str:
    failed = outcome.failed
    text = "; ".join(f"{item.symbol}: {item.error}" for item in failed[:_SYMBOLS_LISTED])
    if len(failed) > _SYMBOLS_LISTED:
        text += f"; and {len(failed) - _SYMBOLS_LISTED} more symbols failed"
    if outcome.failed_windows:
        text += " (run the same fetch again to fetch only what is missing)"
    return text


def _message_of(request: FetchRequest, outcome: FetchOutcome) -> str:
    if request.market:
        days = outcome.progress[0].windows_total if outcome.progress else 0
        message = (
            f"stored {outcome.bars:,} bars for {len(outcome.datasets):,} tickers over {days:,} trading days"
        )
        if outcome.skipped:
            shown = ", ".join(outcome.skipped[:10]) + (", …" if len(outcome.skipped) > 10 else "")
            message += f"; left out {len(outcome.skipped):,} tickers ({shown})"
    else:
        message = (
            f"stored {outcome.bars:,} bars for {len(outcome.datasets)} of {len(outcome.progress)} symbols"
        )
        empty = [item.symbol for item in outcome.progress if item.error is None and item.bars == 0]
        if empty and not outcome.cancelled:
            message += f"; no bars in range for {', '.join(empty[:_SYMBOLS_LISTED])}"
            if len(empty) > _SYMBOLS_LISTED:
                message += f" and {len(empty) - _SYMBOLS_LISTED} more"
    if outcome.cancelled:
        message = f"cancelled; {message} (kept)"
    return message
