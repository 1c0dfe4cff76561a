"""The ARQ worker: runs ``pipelines.tasks`` with the services of a runtime."""

from __future__ import annotations

from arq.worker import Worker, func

from api.runtime import QUEUE_NAME, Runtime
from pipelines.tasks import fetch_bars

FETCH_TIMEOUT_S = 6 * 3600
"""A fetch may take hours for the whole market; beyond this it is stopped."""


def build_worker(runtime: Runtime, *, burst: bool = False) -> Worker:
    """A worker on the runtime's queue whose jobs get ``ctx["services"]``."""
    return Worker(
        functions=[func(fetch_bars, timeout=FETCH_TIMEOUT_S, max_tries=1)],
        queue_name=QUEUE_NAME,
        redis_pool=runtime.queue,
        ctx={"services": runtime.services},
        burst=burst,
        handle_signals=False,
        max_jobs=4,
        poll_delay=0.2,
        keep_result=3600,
    )
