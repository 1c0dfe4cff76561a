"""``/api/v1/agents``: multi-step workflows run as jobs, followed step by step (``agent_status``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_202_ACCEPTED

from api.auth.guards import role
from api.auth.principal import principal_of
from api.deps import RuntimeDep, ServicesDep
from pipelines.assistant.agents import WORKFLOWS, Agents
from pipelines.jobs.kinds import JobKind
from pipelines.jobs.queue import enqueue
from pipelines.jobs.runner import cancel_job
from pipelines.jobs.submit import record, status_url
from schemas.agents import AgentTask, AgentTaskAccepted, AgentTaskJob, AgentTaskRequest, WorkflowTemplate

TaskPath = Annotated[str, PathParameter(pattern=r"^[0-9a-f]{32}$", description="Agent task id")]
TaskQuery = Annotated[str | None, QueryParameter(pattern=r"^[0-9a-f]{32}$", description="Agent task id")]


class AgentsController(Controller):
    """Agent tasks: start a workflow, follow its steps, cancel it."""

    path = "/api/v1/agents"
    tags = ["agents"]

    @get("/workflows", operation_id="agentWorkflows", opt=role("viewer"))
    async def workflows(self) -> list[WorkflowTemplate]:
        """The named workflows: what each does, its steps, its parameters (JSON schema) and an example."""
        return WORKFLOWS

    @post("/task", operation_id="startAgentTask", status_code=HTTP_202_ACCEPTED, opt=role("analyst"))
    async def start(
        self, data: JSONBody[AgentTaskRequest], runtime: RuntimeDep, request: Request[Any, Any, Any]
    ) -> AgentTaskAccepted:
        """Start a workflow as a job; starting it confirms its writing steps (backfills, strategies).

        It stops at its limits (steps, model tokens, wall time) and records its token use and cost.
        ``research`` needs a model provider (503 without one).
        """
        principal = principal_of(request)
        services = runtime.services
        Agents(services).check(data.params)
        task_id = uuid.uuid4().hex
        job = AgentTaskJob(task_id=task_id, role=principal.role)
        job_id = await record(services.jobs, JobKind.AGENT_TASK, job, principal.username)
        params = msgspec.to_builtins(data.params)
        workflow = params.pop("workflow")
        await services.agent_tasks.create(
            task_id, principal.username, workflow, params, msgspec.to_builtins(data.limits), job_id
        )
        await enqueue(runtime.queue, JobKind.AGENT_TASK, job_id, job, principal.username)
        return AgentTaskAccepted(task_id=task_id, job_id=job_id, status_url=status_url(job_id))

    @get("/status", operation_id="agentStatus", opt=role("viewer"))
    async def status(
        self, services: ServicesDep, request: Request[Any, Any, Any], task_id: TaskQuery = None
    ) -> list[AgentTask]:
        """Your tasks, newest first, each with its steps, ranking, summary and usage; one with ``task_id``."""
        principal = principal_of(request)
        owner = None if principal.role == "admin" else principal.username
        if task_id:
            return [await services.agent_tasks.get(task_id, owner)]
        return await services.agent_tasks.listed(principal.username)

    @post(
        "/task/{task_id:str}/cancel",
        operation_id="cancelAgentTask",
        status_code=HTTP_202_ACCEPTED,
        opt=role("analyst"),
    )
    async def cancel(
        self, task_id: TaskPath, services: ServicesDep, request: Request[Any, Any, Any]
    ) -> AgentTask:
        """Cancel a task: it stops between steps, keeping what it stored."""
        principal = principal_of(request)
        admin = principal.role == "admin"
        task = await services.agent_tasks.get(task_id, None if admin else principal.username)
        if task.job_id and task.state in ("queued", "running"):
            await cancel_job(services, task.job_id, principal.username, admin=admin)
            if task.state == "queued":
                await services.agent_tasks.set_state(
                    task_id, "cancelled", error="cancelled before it started", finished=True
                )
        return await services.agent_tasks.get(task_id)
