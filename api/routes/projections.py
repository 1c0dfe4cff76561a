"""``/api/v1/projections``: forecasts of stored series, their scores, and evaluations of the methods."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from api.auth.guards import role
from api.auth.principal import principal_of
from api.deps import RuntimeDep, ServicesDep
from pipelines.jobs.kinds import JobKind
from pipelines.jobs.queue import enqueue
from pipelines.jobs.submit import record
from schemas.projections import (
    Evaluation,
    EvaluationAccepted,
    EvaluationJob,
    EvaluationRequest,
    Projection,
    ProjectionAccepted,
    ProjectionJob,
    ProjectionRequest,
)
from schemas.values import SYMBOL_PATTERN, Timeframe

ProjectionId = Annotated[str, PathParameter(pattern=r"^[0-9a-f]{32}$", description="Projection id")]
SymbolQuery = Annotated[str, QueryParameter(pattern=SYMBOL_PATTERN, max_length=20)]
TimeframeQuery = Annotated[Timeframe | None, QueryParameter()]


class ProjectionsController(Controller):
    """Projections: make them, list them with their scores, delete them, evaluate the methods."""

    path = "/api/v1/projections"
    tags = ["projections"]

    @post("", operation_id="createProjection", status_code=HTTP_202_ACCEPTED, opt=role("analyst"))
    async def create(
        self, data: JSONBody[ProjectionRequest], runtime: RuntimeDep, request: Request[Any, Any, Any]
    ) -> ProjectionAccepted:
        """Project a stored series ``horizon`` bars ahead with ``method``, as a job.

        An unknown parameter or a value out of range is a 422 naming the range; a symbol with no
        bars a 404 — before anything is queued. A series shorter than the method's fit window
        fails the job in words.
        """
        projections = runtime.services.projections
        prepared = await projections.prepare(data)
        owner = principal_of(request).username
        job = ProjectionJob(projection_id=prepared.projection_id)
        job_id = await record(runtime.services.jobs, JobKind.PROJECTION, job, owner)
        await projections.record(prepared, data, owner, job_id)
        await enqueue(runtime.queue, JobKind.PROJECTION, job_id, job, owner)
        return ProjectionAccepted(
            projection_id=prepared.projection_id,
            job_id=job_id,
            status_url=f"/api/v1/projections/{prepared.projection_id}",
        )

    @get("", operation_id="listProjections", opt=role("viewer"))
    async def list_projections(
        self, services: ServicesDep, symbol: SymbolQuery, timeframe: TimeframeQuery = None
    ) -> list[Projection]:
        """A symbol's projections (of one timeframe when given), newest first, with their scores.

        A projection is scored once real bars cover its horizon: MAE and MAPE of the median, the
        share of real closes inside the band against its nominal level, and the direction.
        """
        return await services.projections.listed(symbol.upper(), timeframe)

    @get("/{projection_id:str}", operation_id="getProjection", opt=role("viewer"))
    async def get_projection(self, projection_id: ProjectionId, services: ServicesDep) -> Projection:
        """One projection, with its score once it can be scored."""
        return await services.projections.get(projection_id)

    @delete(
        "/{projection_id:str}",
        operation_id="deleteProjection",
        status_code=HTTP_204_NO_CONTENT,
        opt=role("analyst"),
    )
    async def delete_projection(
        self, projection_id: ProjectionId, services: ServicesDep, request: Request[Any, Any, Any]
    ) -> None:
        """Delete a projection and its stored values. Its owner or an admin only."""
        principal = principal_of(request)
        await services.projections.delete(projection_id, principal.username, admin=principal.role == "admin")

    @post("/evaluate", operation_id="evaluateProjections", status_code=HTTP_202_ACCEPTED, opt=role("analyst"))
    async def evaluate(
        self, data: JSONBody[EvaluationRequest], runtime: RuntimeDep, request: Request[Any, Any, Any]
    ) -> EvaluationAccepted:
        """Project each method from ``cuts`` past points of the series and score each, as a job."""
        projections = runtime.services.projections
        ref, timeframe = await projections.prepare_evaluation(data)
        owner = principal_of(request).username
        evaluation_id = uuid.uuid4().hex
        job = EvaluationJob(evaluation_id=evaluation_id)
        job_id = await record(runtime.services.jobs, JobKind.PROJECTION_EVALUATION, job, owner)
        await projections.repository.create_evaluation(
            evaluation_id=evaluation_id,
            ref=ref,
            timeframe=timeframe,
            session=data.session,
            request=msgspec.to_builtins(data),
            horizon=data.horizon,
            cuts=data.cuts,
            owner=owner,
            job_id=job_id,
        )
        await enqueue(runtime.queue, JobKind.PROJECTION_EVALUATION, job_id, job, owner)
        return EvaluationAccepted(
            evaluation_id=evaluation_id,
            job_id=job_id,
            status_url=f"/api/v1/projections/evaluations/{evaluation_id}",
        )

    @get("/evaluations/{evaluation_id:str}", operation_id="getEvaluation", opt=role("viewer"))
    async def get_evaluation(self, evaluation_id: ProjectionId, services: ServicesDep) -> Evaluation:
        """An evaluation: its status and, once complete, each method's scores ranked by MAE."""
        evaluation, _ = await services.projections.repository.evaluation(evaluation_id)
        return evaluation

    @get("/leaderboard", operation_id="projectionLeaderboard", opt=role("viewer"))
    async def leaderboard(
        self, services: ServicesDep, symbol: SymbolQuery, timeframe: Annotated[Timeframe, QueryParameter()]
    ) -> Evaluation | None:
        """The latest complete evaluation of a series: its methods ranked, with skill against naive.

        ``null`` until a series has one (``POST /projections/evaluate``).
        """
        return await services.projections.repository.leaderboard(symbol.upper(), timeframe)
