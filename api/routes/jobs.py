"""``/api/v1/jobs``: the state and progress of background jobs."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import PathParameter

from api.auth.guards import role
from api.deps import ServicesDep
from schemas.jobs import JobStatus


class JobsController(Controller):
    """Background jobs."""

    path = "/api/v1/jobs"
    tags = ["jobs"]

    @get("/{job_id:str}", operation_id="getJob", opt=role("viewer"))
    async def status(
        self, services: ServicesDep, job_id: Annotated[str, PathParameter(pattern=r"^[0-9a-f]{32}$")]
    ) -> JobStatus:
        """A job's state and per-symbol progress."""
        return await services.jobs.get(job_id)
