"""The ARQ worker: one function per job kind (:mod:`pipelines.jobs`), with the services of a runtime.

At start-up the worker queues again every job a dead worker left behind; every 30 s it sweeps for
them (see :mod:`pipelines.jobs.recovery`). In embedded mode one process owns the stores, so a
running job another process beat last is orphaned too.

Redis carries motion, never truth: the worker rides out a Redis outage (it waits, then queues again
what Postgres says is unfinished, since a restarted Redis has lost its queue), and a shutdown
(:func:`stop_worker`) takes no new job and interrupts the running ones, which are recorded
``queued`` for the next start unless they finish within the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

from arq.cron import cron
from arq.worker import Worker

from api.runtime import Runtime
from pipelines.jobs.interruptions import REDIS_LOST
from pipelines.jobs.queue import QUEUE_NAME, worker_functions
from pipelines.jobs.recovery import recover_jobs, sweep_jobs
from pipelines.jobs.runner import interrupt_jobs
from pipelines.strategies.engine import warm_up

OUTAGE_RETRY_S: Final = 0.5
"""How often a worker that lost Redis tries it again."""

_log = logging.getLogger(__name__)


class _Worker(Worker):
    """ARQ's worker, waiting out a Redis outage instead of stopping, then queueing unfinished jobs again."""

    def __init__(self, *args: Any, recover: Callable[[], Awaitable[list[str]]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._recover = recover
        self._lost_at: float | None = None

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except REDIS_LOST as exc:
            if self._lost_at is None:
                self._lost_at = time.monotonic()
                _log.warning("Redis is unreachable; jobs wait until it answers: %s", exc)
            await asyncio.sleep(OUTAGE_RETRY_S)
            return
        if self._lost_at is not None:
            await self._recover_after_outage(self._lost_at)

    async def _recover_after_outage(self, lost_at: float) -> None:
        try:
            queued = await self._recover()
        except Exception as exc:  # Redis (or Postgres) not quite back: the next poll tries again
            _log.warning("unfinished jobs not queued again yet: %s", exc)
            await asyncio.sleep(OUTAGE_RETRY_S)
            return
        self._lost_at = None
        _log.warning(
            "Redis answers again after %.1f s; %d unfinished job(s) queued again",
            time.monotonic() - lost_at,
            len(queued),
        )

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        for job_id in job_ids:
            try:
                await super().start_jobs([job_id])
            except REDIS_LOST:
                # ARQ takes a job slot before it asks Redis about the job; without this it stays taken.
                self._release_sem_dec_counter_on_complete()
                raise


def build_worker(runtime: Runtime, *, burst: bool = False) -> Worker:
    """A worker on the runtime's queue whose jobs get ``ctx["services"]``; it recovers orphaned jobs first."""
    embedded = runtime.stack.modes["postgres"] == "embedded"

    async def recover() -> list[str]:
        # This process holds the data dir in embedded mode: a job another process ran is orphaned.
        return await recover_jobs(runtime.services.jobs, runtime.queue, only_runner=embedded)

    async def startup(ctx: dict[str, Any]) -> None:
        await recover()
        if not burst:  # load the compiled backtest loop meanwhile, off the event loop
            ctx["warm_up"] = asyncio.get_running_loop().run_in_executor(None, warm_up)

    return _Worker(
        functions=worker_functions(),
        cron_jobs=[] if burst else [cron(sweep_jobs, second={0, 30}, unique=True)],
        queue_name=QUEUE_NAME,
        redis_pool=runtime.queue,
        ctx={"services": runtime.services, "only_runner": embedded},
        on_startup=startup,
        burst=burst,
        handle_signals=False,
        max_jobs=4,
        poll_delay=0.2,
        keep_result=3600,
        recover=recover,
    )


async def stop_worker(worker: Worker, running: asyncio.Task[Any], grace: dt.timedelta) -> None:
    """Stop ``worker`` (``running`` is its ``async_run``) for a shutdown, within ``grace``.

    It takes no new job, and its running jobs are interrupted (:func:`pipelines.jobs.runner.interrupt_jobs`):
    one that stops, or is still running when the grace period ends (it is then cancelled), is
    recorded ``queued``, and put on the queue again, for another worker (or the next start) to
    resume; one that finishes first ends as it would have.
    """
    worker.allow_pick_jobs = False
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace.total_seconds()
    while pending := [task for task in worker.tasks.values() if not task.done()]:
        interrupt_jobs()  # again each round: a job just picked up is running only now
        left = deadline - loop.time()
        if left <= 0:
            _log.warning("%d job(s) still running after the grace period: cancelled", len(pending))
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            break
        await asyncio.wait(pending, timeout=min(left, 0.5))
    if isinstance(worker, _Worker):
        try:
            await worker._recover()
        except Exception as exc:  # the next start (or another worker's sweep) queues them
            _log.warning("interrupted jobs not queued again: %s", exc)
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
