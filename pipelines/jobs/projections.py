"""The projection jobs: a projection computed and stored, and an evaluation of the methods on a series."""

from __future__ import annotations

from pipelines.jobs.task import JobContext, JobEnd
from schemas.jobs import SymbolProgress
from schemas.projections import EvaluationJob, ProjectionJob


def projection_labels(request: ProjectionJob) -> list[str]:
    """One progress entry: the projection."""
    return [request.projection_id]


def evaluation_labels(request: EvaluationJob) -> list[str]:
    """One progress entry: the evaluation."""
    return [request.evaluation_id]


async def compute_projection(job: JobContext, request: ProjectionJob) -> JobEnd:
    """Compute and store the recorded projection."""
    message = await job.services.projections.compute(request.projection_id)
    progress = [SymbolProgress(symbol=request.projection_id, windows_done=1, windows_total=1)]
    return JobEnd(state="complete", progress=progress, message=message)


async def evaluate_projections(job: JobContext, request: EvaluationJob) -> JobEnd:
    """Project each method from the cut points of the series and score each."""
    message = await job.services.projections.evaluate(request.evaluation_id)
    progress = [SymbolProgress(symbol=request.evaluation_id, windows_done=1, windows_total=1)]
    return JobEnd(state="complete", progress=progress, message=message)
