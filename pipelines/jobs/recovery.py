"""Queueing again the jobs a dead worker left behind, of every kind.

A worker that dies mid-job (SIGKILL, power loss) leaves its job ``running`` in Postgres with a
heartbeat that no longer moves. At start-up, every 30 s (:func:`sweep_jobs`) and when Redis
answers again after an outage, every job still queued, or running but orphaned, is queued again;
its task then resumes (a fetch skips the windows its checkpoints say are stored) or safely runs
again (a flat-file load replaces its rows). A job is orphaned when its heartbeat is older than
:data:`ORPHANED_AFTER`, and, where one process owns the stores (embedded mode), also when another
process beat it last.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Final

from arq.connections import ArqRedis

from pipelines.jobs.kinds import JobKind
from pipelines.jobs.queue import requeue
from pipelines.jobs.runner import RUNNER
from pipelines.services import Services
from warehouse.catalog.jobs import JobRepository

ORPHANED_AFTER: Final = dt.timedelta(seconds=60)
"""A running job that has not beaten its heartbeat for this long is taken for dead."""
_LONG_AGO: Final = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
"""Older than every heartbeat: a sweep with it takes no running job."""

_log = logging.getLogger(__name__)


async def recover_jobs(
    jobs: JobRepository,
    queue: ArqRedis,
    *,
    beaten_before: dt.datetime | None = None,
    only_runner: bool = False,
) -> list[str]:
    """Queue again every job (of a known kind) still queued, or running but orphaned.

    Args:
        jobs: The job repository.
        queue: The job queue.
        beaten_before: A running job whose last heartbeat is older is orphaned (default: now
            less :data:`ORPHANED_AFTER`).
        only_runner: This process is the only one that runs jobs (embedded mode), so a running
            job that another process beat last is orphaned too, however recent its heartbeat.

    Returns:
        The ids of the jobs queued again, oldest first.
    """
    found = await jobs.unfinished(
        [kind.value for kind in JobKind],
        beaten_before=beaten_before or dt.datetime.now(dt.UTC) - ORPHANED_AFTER,
        not_run_by=RUNNER if only_runner else None,
    )
    for job in found:
        await requeue(queue, job)
    if found:
        _log.info(
            "queued %d unfinished job(s) again: %s",
            len(found),
            ", ".join(f"{job.job_id} ({job.kind})" for job in found),
        )
    return [job.job_id for job in found]


async def sweep_jobs(ctx: dict[str, Any]) -> list[str]:
    """ARQ cron function (every 30 s): queue again the jobs whose worker stopped beating, and queued ones.

    A queued job may be missing from the queue: Redis restarted empty, or a job it interrupted was
    recorded ``queued`` after the worker had queued the unfinished ones again. Where this process
    runs every job (``ctx["only_runner"]``, embedded mode) only queued jobs are taken: its running
    ones beat, and the others were recovered when it started.
    """
    services: Services = ctx["services"]
    if ctx.get("only_runner"):
        return await recover_jobs(services.jobs, ctx["redis"], beaten_before=_LONG_AGO)
    return await recover_jobs(services.jobs, ctx["redis"])
