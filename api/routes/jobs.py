"""``/api/v1/jobs``: the state and progress of background jobs."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import PathParameter

from api.auth.guards import role
from api.auth.principal import principal_of
from api.deps import ServicesDep
from schemas.jobs import JobStatus
from warehouse.errors import NotFound


class JobsController(Controller):
    """Background jobs."""

    path = "/api/v1/jobs"
    tags = ["jobs"]

    @get("/{job_id:str}", operation_id="getJob", opt=role("viewer"))
    async def status(
        self,
        services: ServicesDep,
        request: Request[Any, Any, Any],
        job_id: Annotated[str, PathParameter(pattern=r"^[0-9a-f]{32}$")],
    ) -> JobStatus:
        """A job's state and per-symbol progress (only its owner and admins see it)."""
        job = await services.jobs.get(job_id)
        principal = principal_of(request)
        if job.owner != principal.username and principal.role != "admin":
            raise NotFound(f"no job {job_id!r}")
        return job
