"""The assistant's jobs: a chat turn, and an agent task; the tools they call run their jobs inline."""

from __future__ import annotations

import msgspec

from pipelines.assistant.agents import Agents
from pipelines.assistant.chat import Assistant
from pipelines.assistant.tools.base import RanJob, ToolContext
from pipelines.jobs.task import JobContext, JobEnd
from schemas.agents import AgentTaskJob
from schemas.chat import ChatTurnJob
from schemas.jobs import SymbolProgress


class InlineJobs:
    """Jobs a tool starts for the job's owner: recorded like any job, and run to their end in this job.

    Running them here rather than queueing them keeps a turn from waiting on a worker slot its own
    job holds; they still show in the jobs list with their progress and events.
    """

    def __init__(self, job: JobContext) -> None:
        self.job = job

    async def record(self, kind: str, request: msgspec.Struct) -> str:
        """Record a job of ``kind`` for the owner."""
        from pipelines.jobs.kinds import JobKind
        from pipelines.jobs.submit import record

        return await record(self.job.services.jobs, JobKind(kind), request, self.job.owner)

    async def run(self, kind: str, job_id: str, request: msgspec.Struct) -> RanJob:
        """Run a recorded job to its end."""
        from pipelines.jobs.kinds import JobKind
        from pipelines.jobs.runner import run_job

        state = await run_job(self.job.services, JobKind(kind), job_id, request, self.job.owner)
        status = await self.job.services.jobs.get(job_id)
        return RanJob(job_id=job_id, state=state, message=status.message, error=status.error)


def chat_labels(request: ChatTurnJob) -> list[str]:
    """One progress entry: the session."""
    return [request.session_id]


def agent_labels(request: AgentTaskJob) -> list[str]:
    """One progress entry: the task."""
    return [request.task_id]


async def run_chat_turn(job: JobContext, request: ChatTurnJob) -> JobEnd:
    """Run the session's turn (the model, its tools) until it answers or awaits the user."""
    ctx = ToolContext(
        services=job.services, username=job.owner, role=request.role, jobs=InlineJobs(job), stop=job.stop,
        symbol=request.symbol, timeframe=request.timeframe,
    )  # fmt: skip
    outcome = await Assistant(job.services).run_turn(request.session_id, job.owner, request.role, ctx)
    progress = [SymbolProgress(symbol=request.session_id, windows_done=1, windows_total=1)]
    state = {"complete": "complete", "awaiting_confirmation": "complete", "cancelled": "cancelled"}.get(
        outcome.state, "failed"
    )
    return JobEnd(
        state=state,  # type: ignore[arg-type]
        progress=progress,
        message=outcome.message,
        error=outcome.message if state == "failed" else None,
    )


async def run_agent_task(job: JobContext, request: AgentTaskJob) -> JobEnd:
    """Run the agent task step by step within its limits."""
    ctx = ToolContext(
        services=job.services, username=job.owner, role=request.role, jobs=InlineJobs(job), stop=job.stop
    )
    message = await Agents(job.services).run(request.task_id, ctx)
    progress = [SymbolProgress(symbol=request.task_id, windows_done=1, windows_total=1)]
    return JobEnd(
        state="cancelled" if message == "cancelled" else "complete", progress=progress, message=message
    )
