"""ARQ task functions: each loads its input, calls a service, stores and publishes, nothing else."""

from __future__ import annotations

from typing import Any

import msgspec

from pipelines.ingest.fetch_job import run_fetch_job
from pipelines.ingest.flat_file_job import run_flat_file_job
from pipelines.services import Services
from schemas.datasets import FetchRequest
from schemas.flat_files import FlatFileRequest


async def fetch_bars(ctx: dict[str, Any], job_id: str, request: dict[str, Any], owner: str) -> str:
    """Fetch bars for a recorded job started by ``owner``; returns the job's final state."""
    services: Services = ctx["services"]
    await run_fetch_job(services, job_id, msgspec.convert(request, FetchRequest), owner)
    return (await services.jobs.get(job_id)).state


async def load_flat_files(ctx: dict[str, Any], job_id: str, request: dict[str, Any], owner: str) -> str:
    """Load Polygon flat files for a recorded job started by ``owner``; returns the job's final state."""
    services: Services = ctx["services"]
    outcome = await run_flat_file_job(
        services.flat_files,
        services.jobs,
        services.publisher,
        job_id,
        msgspec.convert(request, FlatFileRequest),
        owner,
    )
    return "failed" if outcome is None or outcome.failed else "complete"


TASKS = (fetch_bars, load_flat_files)
