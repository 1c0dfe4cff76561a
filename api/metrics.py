"""What ``/metrics`` reads from the stores at scrape time: jobs, queue depth, Redis memory, pool use.

The instruments of :mod:`warehouse.metrics` count what happens in each process; these gauges are
read fresh on every scrape instead, from the stores every process shares, so they are right however
many replicas and workers run. A store that does not answer within :data:`READ_TIMEOUT_S` leaves
its gauges out (``k2q_store_up`` says which); the scrape itself still answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Final

from api.runtime import Runtime
from pipelines.jobs.kinds import JobKind
from pipelines.jobs.queue import QUEUE_NAME
from warehouse.metrics import Sample, exposition

READ_TIMEOUT_S: Final = 2.0


async def _within(read: Awaitable[list[Sample]]) -> list[Sample]:
    try:
        return await asyncio.wait_for(read, READ_TIMEOUT_S)
    except Exception:  # a store that is down or slow: its gauges are left out, k2q_store_up says so
        return []


async def _jobs(runtime: Runtime) -> list[Sample]:
    counts = await runtime.services.jobs.unfinished_counts()
    return [
        Sample(
            "k2q_jobs",
            "Jobs queued and running now, by kind (from the catalog: every worker's).",
            float(counts.get((kind.value, state), 0)),
            (("kind", kind.value), ("state", state)),
        )
        for kind in JobKind
        for state in ("queued", "running")
    ]


async def _redis(runtime: Runtime) -> list[Sample]:
    redis = runtime.stack.redis
    depth = await redis.zcard(QUEUE_NAME)
    memory = await redis.info("memory")
    return [
        Sample("k2q_queue_depth", "Jobs waiting on the ARQ queue for a worker.", float(depth)),
        Sample("k2q_redis_memory_bytes", "Memory Redis uses (used_memory).", float(memory["used_memory"])),
    ]


async def _pool(runtime: Runtime) -> list[Sample]:
    stats = runtime.stack.pool.get_stats()
    meaning = {"size": "pool_size", "idle": "pool_available", "waiting": "requests_waiting"}
    return [
        Sample(
            "k2q_postgres_pool_connections",
            "This API process's Postgres pool: connections open (size), idle, and requests waiting.",
            float(stats.get(key, 0)),
            (("state", state),),
        )
        for state, key in meaning.items()
    ]


async def _stores(runtime: Runtime) -> list[Sample]:
    checks = await runtime.stack.check()
    return [
        Sample(
            "k2q_store_up", "Whether the store answered a ping (1) or not (0).", float(ok), (("store", name),)
        )
        for name, (ok, _, _) in checks.items()
    ]


async def scrape(runtime: Runtime) -> bytes:
    """The Prometheus text for one scrape: every process's instruments and the stores' gauges now."""
    parts = await asyncio.gather(
        _within(_jobs(runtime)), _within(_redis(runtime)), _within(_pool(runtime)), _stores(runtime)
    )
    return exposition([sample for part in parts for sample in part])
