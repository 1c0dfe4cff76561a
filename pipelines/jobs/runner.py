"""The one job runner: start, heartbeat, progress, cancel, finish and publish, for every kind.

A running job beats a heartbeat in Postgres every :data:`HEARTBEAT_S` seconds; the same round trip
reads the job's state, so a cancel (``state = 'cancelled'``, set by :func:`cancel_job`) sets the
task's stop event within about that long. Progress is recorded in Postgres and published as
``fetch_progress`` events (the event every job kind sends). A job whose worker died keeps
``running`` with an old heartbeat; :mod:`pipelines.jobs.recovery` queues it again. A job that
Redis vanished under, or that a shutdown stopped (:func:`interrupt_jobs`), is recorded ``queued``
again (see :mod:`pipelines.jobs.interruptions`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from typing import Final

import msgspec
import structlog

from pipelines.errors import PipelineError
from pipelines.jobs.interruptions import REDIS_LOST, REDIS_LOST_MESSAGE, SHUTDOWN_MESSAGE
from pipelines.jobs.kinds import JobKind
from pipelines.jobs.task import JobContext, JobEnd
from pipelines.services import Services
from schemas.events import FetchProgress
from schemas.jobs import JobStatus, SymbolProgress
from schemas.values import JobState
from warehouse.catalog.jobs import JobRepository
from warehouse.errors import NotFound, WarehouseError
from warehouse.metrics import JOB_SECONDS

HEARTBEAT_S: Final = 0.5
"""How often a running job proves it is alive and looks for a cancel."""
RUNNER: Final = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
"""This process, as the runner a job's heartbeat names."""

_log = logging.getLogger(__name__)


async def run_job(
    services: Services, kind: JobKind, job_id: str, request: msgspec.Struct, owner: str
) -> JobState:
    """Run job ``job_id`` of ``kind`` (recorded, queued or orphaned) to its end; return its final state.

    A job cancelled (or finished) before it starts does not run. A PipelineError or WarehouseError
    of the task fails the job with its message; any other exception fails it as an internal error
    and is raised again for the worker to log.
    """
    job_type = kind.type
    jobs = services.jobs
    state = await jobs.start(job_id, RUNNER)
    if state != "running":
        await _publish(services, job_id, owner, state, (await jobs.get(job_id)).symbols)
        return state
    queued_by = (await jobs.get(job_id)).request_id
    heartbeat = _Heartbeat(jobs, job_id)
    _RUNNING[job_id] = heartbeat

    async def report(progress: list[SymbolProgress]) -> None:
        await jobs.update(job_id, progress=progress)
        await _publish(services, job_id, owner, heartbeat.state, progress)

    beating = asyncio.create_task(heartbeat.beat(), name=f"job-{job_id}-heartbeat")
    # every log line of the job (and of a job it runs inline) names it, and the request that queued it
    ids = {"job_id": job_id, "job_kind": kind.value} | ({"request_id": queued_by} if queued_by else {})
    with structlog.contextvars.bound_contextvars(**ids):
        _log.info("job started")
        started = time.perf_counter()
        try:
            end = await job_type.task(JobContext(services, job_id, owner, report, heartbeat.stop), request)
        except REDIS_LOST as exc:
            # Redis carries motion, not truth: what the job stored stays; it runs again once Redis is back.
            _log.warning("job interrupted, Redis unreachable: %s", exc)
            end = JobEnd(state="queued", message=REDIS_LOST_MESSAGE)
        except (PipelineError, WarehouseError) as exc:
            end = JobEnd(state="failed", error=str(exc), message=job_type.failure_message)
        except asyncio.CancelledError:
            if heartbeat.interrupted:  # a shutdown whose grace period ran out: queued for the next start
                with contextlib.suppress(Exception):
                    await jobs.finish(job_id, "queued", message=SHUTDOWN_MESSAGE)
            raise
        except Exception as exc:
            error = f"internal error ({type(exc).__name__}); see the log for job {job_id}"
            await _finish(
                services, job_id, owner, JobEnd(state="failed", error=error, message=job_type.failure_message)
            )
            JOB_SECONDS.labels(kind.value, "failed").observe(time.perf_counter() - started)
            raise
        finally:
            _RUNNING.pop(job_id, None)
            heartbeat.stop.set()
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
        # stopped for a shutdown, not by a user's cancel
        if heartbeat.interrupted and end.state == "cancelled" and heartbeat.state == "running":
            end = JobEnd(state="queued", progress=end.progress, message=SHUTDOWN_MESSAGE)
        final = await _finish(services, job_id, owner, end)
        JOB_SECONDS.labels(kind.value, final).observe(time.perf_counter() - started)
        _log.info("job ended: %s", final)
        return final


_RUNNING: dict[str, _Heartbeat] = {}
"""The jobs this process runs now, by id."""


def interrupt_jobs() -> int:
    """Stop every job this process runs, for a shutdown; return how many there were.

    Each sees its stop event as it would a cancel; one that stops (what it stored stays, a fetch's
    windows checkpointed) is recorded ``queued`` again rather than cancelled, for the next start to
    resume. One that finishes first ends as it would have.
    """
    for heartbeat in _RUNNING.values():
        heartbeat.interrupted = True
        heartbeat.stop.set()
    return len(_RUNNING)


class _Heartbeat:
    """A running job's heartbeat, which also watches for the job to stop running (a cancel)."""

    def __init__(self, jobs: JobRepository, job_id: str) -> None:
        self.jobs = jobs
        self.job_id = job_id
        self.state: JobState = "running"
        """The job's state as the last beat saw it."""
        self.stop = asyncio.Event()
        """Set once the job is no longer running (or the runner is done with it)."""
        self.interrupted = False
        """Set by :func:`interrupt_jobs`: the process is shutting down."""

    async def beat(self) -> None:
        """Beat every :data:`HEARTBEAT_S` until :attr:`stop`; set it once the job is no longer running."""
        while not self.stop.is_set():
            await asyncio.sleep(HEARTBEAT_S)
            try:
                state = await self.jobs.beat(self.job_id, RUNNER)
            except Exception as exc:  # the next beat may get through; the task goes on meanwhile
                _log.warning("job %s: heartbeat failed: %s", self.job_id, exc)
                continue
            if state != "running":
                self.state = state or "cancelled"  # None: the job's row is gone
                self.stop.set()


async def _finish(services: Services, job_id: str, owner: str, end: JobEnd) -> JobState:
    """Record how the job ended (a cancel that came meanwhile wins), publish it, return the final state."""
    final = await services.jobs.finish(
        job_id, end.state, progress=end.progress, error=end.error, message=end.message
    )
    symbols = end.progress if end.progress is not None else (await services.jobs.get(job_id)).symbols
    await _publish(services, job_id, owner, final, symbols)
    return final


async def _publish(
    services: Services, job_id: str, owner: str, state: JobState, symbols: list[SymbolProgress]
) -> None:
    await services.publisher.publish(FetchProgress(job_id=job_id, owner=owner, state=state, symbols=symbols))


async def cancel_job(services: Services, job_id: str, username: str, *, admin: bool) -> JobStatus:
    """Cancel job ``job_id`` for ``username``; what it stored so far stays.

    A queued job will not run; a running one sees the cancel at its next heartbeat, stops and
    publishes again.

    Raises:
        NotFound: there is no such job, or it is someone else's (and ``admin`` is false).
        Conflict: the job already ended.
    """
    job = await services.jobs.get(job_id)
    if job.owner != username and not admin:
        raise NotFound(f"no job {job_id!r}")
    status, _ = await services.jobs.cancel(job_id)
    # At once, for a job no worker runs (queued, or orphaned); a running one publishes again when it stops.
    await _publish(services, job_id, status.owner, "cancelled", status.symbols)
    return status
