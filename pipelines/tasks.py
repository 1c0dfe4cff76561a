"""ARQ task functions: each loads its input, calls a service, stores and publishes, nothing else."""

from __future__ import annotations

from typing import Any

import msgspec

from pipelines.jobs import run_fetch_job
from pipelines.services import Services
from schemas.datasets import FetchRequest


async def fetch_bars(ctx: dict[str, Any], job_id: str, request: dict[str, Any], owner: str) -> str:
    """Fetch bars for a recorded job started by ``owner``; returns the job's final state."""
    services: Services = ctx["services"]
    outcome = await run_fetch_job(services, job_id, msgspec.convert(request, FetchRequest), owner)
    if outcome is None or outcome.failed:
        return "failed"
    return "complete"


TASKS = (fetch_bars,)
