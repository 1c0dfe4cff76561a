"""``POST /api/v1/stocks/flat-files``: load Polygon flat files as a background job."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_202_ACCEPTED

from api.auth.guards import role
from api.auth.principal import principal_of
from api.deps import RuntimeDep
from pipelines.jobs.kinds import JobKind
from pipelines.jobs.submit import submit
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
        owner = principal_of(request).username
        return await submit(runtime.queue, runtime.services.jobs, JobKind.FLAT_FILES, data, owner)
