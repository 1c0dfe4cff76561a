"""Agent tasks, their steps and their model usage (``agent_tasks``, ``agent_steps``, ``agent_usage``)."""

from __future__ import annotations

from typing import Any

import msgspec
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from schemas.agents import AgentStep, AgentTask
from schemas.chat import Usage
from warehouse.errors import NotFound

_COLUMNS = (
    "id AS task_id, owner, workflow, params, limits, state, job_id, summary, error, ranking,"
    ' refs AS "references",'
    " created_at, finished_at"
)


class AgentTaskRepository:
    """Rows of the agent tables."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def create(
        self,
        task_id: str,
        owner: str,
        workflow: str,
        params: dict[str, Any],
        limits: dict[str, Any],
        job_id: str,
    ) -> None:
        """Record a queued task."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO agent_tasks (id, owner, workflow, params, limits, job_id)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (task_id, owner, workflow, Jsonb(params), Jsonb(limits), job_id),
            )

    async def get(self, task_id: str, owner: str | None = None) -> AgentTask:
        """A task with its steps and usage (of ``owner`` when given).

        Raises:
            NotFound: no such task (of theirs).
        """
        tasks = await self._tasks(
            "WHERE id = %s" + (" AND owner = %s" if owner else ""),
            (task_id, owner) if owner else (task_id,),
            1,
        )
        if not tasks:
            raise NotFound(f"no agent task {task_id}")
        return tasks[0]

    async def listed(self, owner: str, limit: int = 50) -> list[AgentTask]:
        """The tasks of ``owner``, newest first."""
        return await self._tasks("WHERE owner = %s", (owner,), limit)

    async def _tasks(self, where: str, params: tuple[Any, ...], limit: int) -> list[AgentTask]:
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                f"SELECT {_COLUMNS} FROM agent_tasks {where} ORDER BY created_at DESC LIMIT %s",
                (*params, limit),
            )
            rows = await cur.fetchall()
            if not rows:
                return []
            ids = [row["task_id"] for row in rows]
            await cur.execute(
                "SELECT task_id, idx AS index, name, state, detail, result, started_at, finished_at"
                " FROM agent_steps WHERE task_id = ANY(%s) ORDER BY task_id, idx",
                (ids,),
            )
            steps: dict[str, list[dict[str, Any]]] = {}
            for step in await cur.fetchall():
                steps.setdefault(step.pop("task_id"), []).append(step)
            await cur.execute(
                "SELECT task_id, provider, model, sum(input_tokens)::int AS input_tokens,"
                " sum(output_tokens)::int AS output_tokens, sum(cost_usd) AS cost_usd"
                " FROM agent_usage WHERE task_id = ANY(%s)"
                " GROUP BY task_id, provider, model ORDER BY provider, model",
                (ids,),
            )
            usage: dict[str, list[dict[str, Any]]] = {}
            for entry in await cur.fetchall():
                usage.setdefault(entry.pop("task_id"), []).append(entry)
        tasks = []
        for row in rows:
            row["steps"] = steps.get(row["task_id"], [])
            row["usage"] = usage.get(row["task_id"], [])
            costs = [u["cost_usd"] for u in row["usage"] if u["cost_usd"] is not None]
            row["cost_usd"] = round(sum(costs), 6) if costs else None
            tasks.append(msgspec.convert(row, AgentTask, strict=False))
        return tasks

    async def set_state(
        self, task_id: str, state: str, *, error: str | None = None, finished: bool = False
    ) -> None:
        """Record the task's state (and why it failed)."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE agent_tasks SET state = %s, error = coalesce(%s, error),"
                " finished_at = CASE WHEN %s THEN now() ELSE finished_at END WHERE id = %s",
                (state, error, finished, task_id),
            )

    async def set_outcome(
        self,
        task_id: str,
        *,
        summary: str | None = None,
        ranking: list[dict[str, Any]] | None = None,
        references: list[Any] | None = None,
    ) -> None:
        """Record what the task found."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE agent_tasks SET summary = coalesce(%s, summary), ranking = coalesce(%s, ranking),"
                " refs = coalesce(%s, refs) WHERE id = %s",
                (
                    summary,
                    Jsonb(ranking) if ranking is not None else None,
                    Jsonb(msgspec.to_builtins(references)) if references is not None else None,
                    task_id,
                ),
            )

    async def put_step(self, task_id: str, step: AgentStep) -> None:
        """Insert or update one step."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO agent_steps (task_id, idx, name, state, detail, result, started_at, finished_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (task_id, idx) DO UPDATE SET"
                " name = excluded.name, state = excluded.state, detail = excluded.detail,"
                " result = excluded.result, started_at = excluded.started_at,"
                " finished_at = excluded.finished_at",
                (
                    task_id, step.index, step.name, step.state, step.detail,
                    Jsonb(msgspec.to_builtins(step.result)) if step.result is not None else None,
                    step.started_at, step.finished_at,
                ),
            )  # fmt: skip

    async def add_usage(self, task_id: str, owner: str, usage: Usage) -> None:
        """Record one model call of a task."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO agent_usage"
                " (task_id, owner, provider, model, input_tokens, output_tokens, cost_usd)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    task_id,
                    owner,
                    usage.provider,
                    usage.model,
                    usage.input_tokens,
                    usage.output_tokens,
                    usage.cost_usd,
                ),
            )
