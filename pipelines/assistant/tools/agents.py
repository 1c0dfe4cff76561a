"""The tool that hands longer work to an agent task, and waits for what it found."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from pipelines.assistant.tools.base import Tool, ToolContext, ToolFailed, ToolOutput
from schemas.agents import AgentTaskJob, ResearchParams, TaskLimits, WorkflowParams


class AgentTaskArgs(msgspec.Struct, forbid_unknown_fields=True):
    """Start an agent task (workflow ``backtest_universe`` or ``research``) and wait for its result."""

    params: WorkflowParams
    limits: TaskLimits = msgspec.field(default_factory=TaskLimits)


async def _start_agent_task(ctx: ToolContext, args: AgentTaskArgs) -> ToolOutput:
    if isinstance(args.params, ResearchParams) and ctx.services.model.provider is None:
        raise ToolFailed("the research workflow needs a model provider")
    task_id = uuid.uuid4().hex
    job = AgentTaskJob(task_id=task_id, role=ctx.role)
    job_id = await ctx.jobs.record("agent_task", job)
    params = msgspec.to_builtins(args.params)
    workflow = params.pop("workflow")
    await ctx.services.agent_tasks.create(
        task_id, ctx.username, workflow, params, msgspec.to_builtins(args.limits), job_id
    )
    await ctx.jobs.run("agent_task", job_id, job)
    task = await ctx.services.agent_tasks.get(task_id)
    result = {
        "task_id": task_id,
        "state": task.state,
        "error": task.error,
        "summary": task.summary,
        "ranking": task.ranking,
        "steps": [{"name": s.name, "state": s.state, "detail": s.detail} for s in task.steps],
    }
    return ToolOutput(
        result=result,
        summary=f"agent task {task.state} after {len(task.steps)} steps",
        references=list(task.references),
    )


TOOLS: list[Tool[Any]] = [
    Tool(
        "start_agent_task",
        "Hand longer work to an agent task (e.g. backfill symbols, backtest a rule on each and rank them)"
        " and wait for its summary; its steps show in the Agents tab.",
        AgentTaskArgs,
        _start_agent_task,
        role="analyst",
        writes=True,
    ),
]
