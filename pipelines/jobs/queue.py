"""The job queue (ARQ on Redis): putting a job on it, again after a dead run, and the worker's functions."""

from __future__ import annotations

from typing import Any, Final, cast

import msgspec
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix, result_key_prefix, retry_key_prefix
from arq.typing import WorkerCoroutine
from arq.worker import Function, func

from pipelines.jobs.kinds import JOB_TYPES, JobKind
from pipelines.jobs.runner import run_job
from pipelines.services import Services
from warehouse.catalog.jobs import UnfinishedJob

QUEUE_NAME: Final = "k2q:queue"
"""The ARQ queue every job goes on."""


async def enqueue(
    queue: ArqRedis, kind: JobKind, job_id: str, request: msgspec.Struct | dict[str, Any], owner: str
) -> None:
    """Put recorded job ``job_id`` on the queue under its own id (a no-op while ARQ still holds that id)."""
    await queue.enqueue_job(
        kind.value, job_id, msgspec.to_builtins(request), owner, _job_id=job_id, _queue_name=QUEUE_NAME
    )


async def requeue(queue: ArqRedis, job: UnfinishedJob) -> None:
    """Queue unfinished job ``job`` again, first dropping what ARQ keeps of an earlier run that is over.

    For a running (orphaned) job, every key of its dead run: ARQ would only run it again once its
    in-progress key expires (the longest timeout plus 10 s: hours), as a second try that
    ``max_tries=1`` refuses. For a queued one no worker holds (an interrupted run ended, or Redis
    lost its queue), its try count, and its job and result keys unless it still waits on the queue:
    ARQ would take it for done, or for a try too many.
    """
    job_id = job.job_id
    if job.state == "running":
        async with queue.pipeline(transaction=True) as pipe:
            for prefix in (in_progress_key_prefix, job_key_prefix, retry_key_prefix, result_key_prefix):
                pipe.delete(prefix + job_id)
            pipe.zrem(QUEUE_NAME, job_id)
            await pipe.execute()
    elif not await queue.exists(in_progress_key_prefix + job_id):
        stale = [retry_key_prefix + job_id]
        if await queue.zscore(QUEUE_NAME, job_id) is None:
            stale += [job_key_prefix + job_id, result_key_prefix + job_id]
        await queue.delete(*stale)
    await enqueue(queue, JobKind(job.kind), job_id, job.request, job.owner)


def worker_functions() -> list[Function]:
    """One ARQ function per job kind, named by its value, with the kind's timeout and no retries.

    A job that fails is not tried again by ARQ: recovery decides what runs again.
    """
    return [
        func(_arq_task(kind), name=kind.value, timeout=job_type.timeout, max_tries=1)
        for kind, job_type in JOB_TYPES.items()
    ]


def _arq_task(kind: JobKind) -> WorkerCoroutine:
    """The ARQ task of ``kind``: called with what :func:`enqueue` queued, it runs the job."""

    async def run(ctx: dict[str, Any], job_id: str, request: dict[str, Any], owner: str) -> str:
        services: Services = ctx["services"]
        return await run_job(services, kind, job_id, msgspec.convert(request, kind.type.request), owner)

    run.__qualname__ = run.__name__ = f"run_{kind.value}_job"
    return cast("WorkerCoroutine", run)  # ARQ calls it with exactly the arguments enqueue() gave
