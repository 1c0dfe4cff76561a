"""Running jobs with their state and progress kept in Postgres and published as events.

A running fetch job beats a heartbeat in Postgres every :data:`HEARTBEAT_S` seconds; the same
round trip reads the job's state, so a cancel (``state = 'cancelled'``, set by the API) stops the
fetch within about that long. A job whose worker died keeps ``running`` with an old heartbeat:
:func:`recover_fetch_jobs` finds it and queues it again, and the re-run skips its done windows.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Final

from pipelines.errors import PipelineError
from pipelines.ingest.fetch import FetchOutcome
from pipelines.services import Services
from schemas.datasets import FetchRequest
from schemas.events import FetchProgress
from schemas.jobs import JobStatus, SymbolProgress
from schemas.values import JobState
from warehouse.catalog.jobs import JobRepository, UnfinishedJob
from warehouse.errors import NotFound, WarehouseError

HEARTBEAT_S: Final = 0.5
"""How often a running job proves it is alive and looks for a cancel."""
RUNNER: Final = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
"""This process, as the runner a job's heartbeat names."""
FETCH_KIND: Final = "fetch"
_SYMBOLS_LISTED: Final = 20
_KEPT: Final = "bars stored before the failure are kept; the same fetch run again resumes where it stopped"

_log = logging.getLogger(__name__)


async def run_fetch_job(
    services: Services, job_id: str, request: FetchRequest, owner: str
) -> FetchOutcome | None:
    """Run the fetch job ``job_id`` (recorded as queued); return its outcome, or None if it failed whole.

    A job cancelled before it starts does not run; one cancelled while running stops at once,
    keeping what it stored. A job that ran before (its worker died) resumes from its checkpoints.
    """
    jobs, publisher = services.jobs, services.publisher
    state = await jobs.start(job_id, RUNNER)
    if state != "running":  # cancelled before it started
        status = await jobs.get(job_id)
        await publisher.publish(
            FetchProgress(job_id=job_id, owner=owner, state=state, symbols=status.symbols)
        )
        return None
    stop = asyncio.Event()
    current: list[JobState] = ["running"]

    async def report(progress: list[SymbolProgress]) -> None:
        await jobs.update(job_id, progress=progress)
        await publisher.publish(FetchProgress(job_id=job_id, owner=owner, state=current[0], symbols=progress))

    async def watch() -> None:
        while not stop.is_set():
            await asyncio.sleep(HEARTBEAT_S)
            try:
                seen = await jobs.beat(job_id, RUNNER)
            except Exception as exc:  # the next beat may get through; the fetch goes on meanwhile
                _log.warning("job %s: heartbeat failed: %s", job_id, exc)
                continue
            if seen != "running":
                current[0] = seen or "cancelled"
                stop.set()

    watcher = asyncio.create_task(watch(), name=f"job-{job_id}-heartbeat")
    try:
        outcome = await services.fetcher.run(request, report, job_id=job_id, stop=stop)
    except (PipelineError, WarehouseError) as exc:
        await _end(services, job_id, owner, "failed", error=str(exc), message=_KEPT)
        return None
    except Exception as exc:
        error = f"internal error ({type(exc).__name__}); see the log"
        await _end(services, job_id, owner, "failed", error=error, message=_KEPT)
        raise
    finally:
        stop.set()
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    state = "cancelled" if outcome.cancelled else "failed" if outcome.failed else "complete"
    await _end(
        services,
        job_id,
        owner,
        state,
        error=_error_of(outcome) if state == "failed" else None,
        message=_message_of(request, outcome),
        progress=outcome.progress,
    )
    return outcome


async def _end(
    services: Services,
    job_id: str,
    owner: str,
    state: JobState,
    *,
    error: str | None,
    message: str | None,
    progress: list[SymbolProgress] | None = None,
) -> None:
    """Record the job's final state (a cancel that came meanwhile wins) and publish it."""
    final = await services.jobs.finish(job_id, state, progress=progress, error=error, message=message)
    symbols = progress if progress is not None else (await services.jobs.get(job_id)).symbols
    await services.publisher.publish(FetchProgress(job_id=job_id, owner=owner, state=final, symbols=symbols))


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


async def cancel_job(services: Services, job_id: str, username: str, *, admin: bool) -> JobStatus:
    """Cancel job ``job_id`` for ``username``; its bars stored so far stay.

    Raises:
        NotFound: there is no such job, or it is someone else's (and ``admin`` is false).
        Conflict: the job already ended.
    """
    job = await services.jobs.get(job_id)
    if job.owner != username and not admin:
        raise NotFound(f"no job {job_id!r}")
    status, _ = await services.jobs.cancel(job_id)
    # At once, for a job no worker runs (queued, or orphaned); a running one publishes again when it stops.
    await services.publisher.publish(
        FetchProgress(job_id=job_id, owner=status.owner, state="cancelled", symbols=status.symbols)
    )
    return status


async def recover_fetch_jobs(
    jobs: JobRepository,
    requeue: Callable[[UnfinishedJob], Awaitable[None]],
    *,
    beaten_before: dt.datetime,
    only_runner: bool = False,
) -> list[str]:
    """Queue again every fetch job still queued, or running but orphaned.

    Args:
        jobs: The job repository.
        requeue: Puts a job on the queue again (dropping what the queue holds of a dead run).
        beaten_before: A running job whose last heartbeat is older is orphaned.
        only_runner: This process is the only one that runs jobs (embedded mode), so a running
            job that another process beat last is orphaned too, however recent its heartbeat.

    Returns:
        The ids of the jobs queued again.
    """
    found = await jobs.unfinished(
        FETCH_KIND, beaten_before=beaten_before, not_run_by=RUNNER if only_runner else None
    )
    for job in found:
        await requeue(job)
    if found:
        _log.info(
            "queued %d unfinished fetch job(s) again: %s", len(found), ", ".join(j.job_id for j in found)
        )
    return [job.job_id for job in found]


__all__ = ["FETCH_KIND", "HEARTBEAT_S", "RUNNER", "cancel_job", "recover_fetch_jobs", "run_fetch_job"]
