"""The ARQ worker: runs ``pipelines.tasks`` with the services of a runtime.

A worker that dies mid-job (SIGKILL, power loss) leaves the job ``running`` in Postgres, and ARQ
would only run it again once its in-progress key expires (the longest job timeout plus 10 s: hours),
as a second try that ``max_tries=1`` refuses. So workers recover jobs from Postgres themselves:
at start-up, and in server mode every 30 s, a fetch job still queued, or running without a
heartbeat, is queued again (a dead run's keys dropped first), and the re-run skips the windows
its checkpoints say are stored. A job is orphaned when its heartbeat is over a minute old, and in
embedded mode (one process owns the stores) also when another process beat it last.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix, result_key_prefix, retry_key_prefix
from arq.cron import cron
from arq.worker import Worker, func

from api.runtime import QUEUE_NAME, Runtime
from pipelines.ingest.fetch import STALE_AFTER
from pipelines.ingest.fetch_job import recover_fetch_jobs
from pipelines.services import Services
from pipelines.tasks import fetch_bars, load_flat_files
from warehouse.catalog.jobs import UnfinishedJob

FETCH_TIMEOUT_S = 6 * 3600
"""A fetch may take hours for the whole market; beyond this it is stopped."""
FLAT_FILES_TIMEOUT_S = 24 * 3600
"""Years of whole-market minute files take hours; beyond a day a load is stopped."""


async def requeue(queue: ArqRedis, job: UnfinishedJob) -> None:
    """Queue fetch job ``job`` again under its own id, first dropping a dead run's keys."""
    job_id = job.job_id
    if job.state == "running":
        async with queue.pipeline(transaction=True) as pipe:
            for prefix in (in_progress_key_prefix, job_key_prefix, retry_key_prefix, result_key_prefix):
                pipe.delete(prefix + job_id)
            pipe.zrem(QUEUE_NAME, job_id)
            await pipe.execute()
    # Still queued (e.g. Redis kept it): ARQ refuses a second job of the same id, so this is a no-op.
    await queue.enqueue_job(
        "fetch_bars", job_id, job.request, job.owner, _job_id=job_id, _queue_name=QUEUE_NAME
    )


async def sweep_fetch_jobs(ctx: dict[str, Any]) -> list[str]:
    """Queue again the fetch jobs whose worker stopped beating (server mode, every 30 s)."""
    services: Services = ctx["services"]
    beaten_before = dt.datetime.now(dt.UTC) - STALE_AFTER
    return await recover_fetch_jobs(
        services.jobs, partial(requeue, ctx["redis"]), beaten_before=beaten_before
    )


def build_worker(runtime: Runtime, *, burst: bool = False) -> Worker:
    """A worker on the runtime's queue whose jobs get ``ctx["services"]``; it recovers orphaned jobs first."""
    embedded = runtime.stack.modes["postgres"] == "embedded"

    async def startup(ctx: dict[str, Any]) -> None:
        await recover_fetch_jobs(
            runtime.services.jobs,
            partial(requeue, runtime.queue),
            beaten_before=dt.datetime.now(dt.UTC) - STALE_AFTER,
            only_runner=embedded,  # this process holds the data dir: a job another one ran is orphaned
        )

    return Worker(
        functions=[
            func(fetch_bars, timeout=FETCH_TIMEOUT_S, max_tries=1),
            func(load_flat_files, timeout=FLAT_FILES_TIMEOUT_S, max_tries=1),
        ],
        cron_jobs=[] if embedded or burst else [cron(sweep_fetch_jobs, second={0, 30}, unique=True)],
        queue_name=QUEUE_NAME,
        redis_pool=runtime.queue,
        ctx={"services": runtime.services},
        on_startup=startup,
        burst=burst,
        handle_signals=False,
        max_jobs=4,
        poll_delay=0.2,
        keep_result=3600,
    )
