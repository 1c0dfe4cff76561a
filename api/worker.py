"""The ARQ worker: one function per job kind (:mod:`pipelines.jobs`), with the services of a runtime.

At start-up the worker queues again every job a dead worker left behind; in server mode it also
sweeps for them every 30 s (see :mod:`pipelines.jobs.recovery`). In embedded mode one process owns
the stores, so a running job another process beat last is orphaned too.
"""

from __future__ import annotations

import asyncio
from typing import Any

from arq.cron import cron
from arq.worker import Worker

from api.runtime import Runtime
from pipelines.jobs.queue import QUEUE_NAME, worker_functions
from pipelines.jobs.recovery import recover_jobs, sweep_jobs
from pipelines.strategies.engine import warm_up


def build_worker(runtime: Runtime, *, burst: bool = False) -> Worker:
    """A worker on the runtime's queue whose jobs get ``ctx["services"]``; it recovers orphaned jobs first."""
    embedded = runtime.stack.modes["postgres"] == "embedded"

    async def startup(ctx: dict[str, Any]) -> None:
        # This process holds the data dir in embedded mode: a job another process ran is orphaned.
        await recover_jobs(runtime.services.jobs, runtime.queue, only_runner=embedded)
        if not burst:  # load the compiled backtest loop meanwhile, off the event loop
            ctx["warm_up"] = asyncio.get_running_loop().run_in_executor(None, warm_up)

    return Worker(
        functions=worker_functions(),
        cron_jobs=[] if embedded or burst else [cron(sweep_jobs, second={0, 30}, unique=True)],
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
