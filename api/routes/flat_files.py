"""``POST /api/v1/stocks/flat-files``: load Polygon flat files as a background job."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_202_ACCEPTED

from api.auth.guards import role
from api.auth.principal import principal_of
from api.deps import RuntimeDep
from api.runtime import QUEUE_NAME
from pipelines.ingest.flat_files import JOB_KIND, PROGRESS_LABEL
from schemas.flat_files import FlatFileRequest
from schemas.jobs import JobAccepted


class FlatFilesController(Controller):
    """Bulk history from flat files."""

    path = "/api/v1/stocks"
    tags = ["stocks"]

    @post("/flat-files", operation_id="loadFlatFiles", status_code=HTTP_202_ACCEPTED, opt=role("admin"))
    async def load(
        self, data: JSONBody[FlatFileRequest], runtime: RuntimeDep, request: Request[Any, Any, Any]
    ) -> JobAccepted:
        """Queue a load of Polygon flat files (a server directory or S3) as unadjusted datasets.

        Admins only: the server reads the directory or bucket with its own rights. The files are
        listed first, so a wrong location or an empty range is a 422 before anything is queued.
        """
        await runtime.services.flat_files.plan(data)
        job_id = uuid.uuid4().hex
        owner = principal_of(request).username
        await runtime.services.jobs.create(job_id, JOB_KIND, data, [PROGRESS_LABEL], owner)
        await runtime.queue.enqueue_job(
            "load_flat_files",
            job_id,
            msgspec.to_builtins(data),
            owner,
            _job_id=job_id,
            _queue_name=QUEUE_NAME,
        )
        return JobAccepted(job_id=job_id, status_url=f"/api/v1/jobs/{job_id}")
