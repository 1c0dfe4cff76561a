"""``/api/v1/jobs``: the state and progress of background jobs."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import PathParameter
from litestar.status_codes import HTTP_202_ACCEPTED

from api.auth.guards import role
from api.auth.principal import principal_of
from api.deps import ServicesDep
from pipelines.jobs.runner import cancel_job
from schemas.jobs import JobStatus
from warehouse.errors import NotFound

JobId = Annotated[str, PathParameter(pattern=r"^[0-9a-f]{32}$")]


class JobsController(Controller):
    """Background jobs."""

    path = "/api/v1/jobs"
    tags = ["jobs"]

    @get("/{job_id:str}", operation_id="getJob", opt=role("viewer"))
    async def status(
        self,
        services: ServicesDep,
        request: Request[Any, Any, Any],
        job_id: JobId,
    ) -> JobStatus:
        """A job's state and per-symbol progress (only its owner and admins see it)."""
        job = await services.jobs.get(job_id)
        principal = principal_of(request)
        if job.owner != principal.username and principal.role != "admin":
            raise NotFound(f"no job {job_id!r}")
        return job

    @post(
        "/{job_id:str}/cancel", operation_id="cancelJob", status_code=HTTP_202_ACCEPTED, opt=role("analyst")
    )
    async def cancel(
        self, services: ServicesDep, request: Request[Any, Any, Any], job_id: JobId
    ) -> JobStatus:
        """Cancel a queued or running job (its owner or an admin); bars it stored stay. 409 once it ended.

        The job's state becomes ``cancelled`` at once; a running job stops within a second and
        publishes a last ``fetch_progress`` event with state ``cancelled``.
        """
        principal = principal_of(request)
        return await cancel_job(services, job_id, principal.username, admin=principal.role == "admin")
