"""Starting a job: record it with its kind's progress entries and put it on the queue.

``submit`` checks nothing itself: a caller first refuses what it can (e.g. ``fetcher.check``,
``flat_files.plan``) so that a bad request is an error of the call, not a failed job.
"""

from __future__ import annotations

import logging
import uuid

import msgspec
import structlog
from arq.connections import ArqRedis

from pipelines.jobs.interruptions import REDIS_LOST
from pipelines.jobs.kinds import JobKind
from pipelines.jobs.queue import enqueue
from schemas.jobs import JobAccepted
from warehouse.catalog.jobs import JobRepository

_log = logging.getLogger(__name__)


def status_url(job_id: str) -> str:
    """Where the job's state is read (``GET``) over HTTP."""
    return f"/api/v1/jobs/{job_id}"


async def record(jobs: JobRepository, kind: JobKind, request: msgspec.Struct, owner: str) -> str:
    """Record a queued job of ``kind`` started by ``owner``; return its id.

    :func:`submit` queues it too; a command that runs the job in its own process (no server holds
    the stores) records it and hands it to :func:`pipelines.jobs.runner.run_job` instead.
    """
    job_id = uuid.uuid4().hex
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    await jobs.create(job_id, kind.value, request, kind.type.labels(request), owner, request_id)
    _log.info("job queued: %s %s", kind.value, job_id)  # on the request's line: its id links the two
    return job_id


async def submit(
    queue: ArqRedis, jobs: JobRepository, kind: JobKind, request: msgspec.Struct, owner: str
) -> JobAccepted:
    """Start a job of ``kind`` for ``owner``: record it, queue it, answer where to follow it.

    A job recorded while Redis is unreachable is accepted all the same: it stays queued in Postgres,
    and workers queue every such job once Redis answers again (see :mod:`pipelines.jobs.recovery`).
    """
    job_id = await record(jobs, kind, request, owner)
    try:
        await enqueue(queue, kind, job_id, request, owner)
    except REDIS_LOST as exc:
        _log.warning("job %s recorded but not queued yet, Redis unreachable: %s", job_id, exc)
    return JobAccepted(job_id=job_id, status_url=status_url(job_id))
