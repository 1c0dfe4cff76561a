"""Agent tasks: multi-step workflows run as jobs, their steps, limits and usage, and ``agent_status``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec

from schemas.auth import Role
from schemas.chat import ChartReference, Usage
from schemas.strategies import MetricName, StrategyCode
from schemas.values import Symbol, Timeframe

TaskState = Literal["queued", "running", "complete", "failed", "cancelled"]
StepState = Literal["pending", "running", "complete", "failed", "skipped", "cancelled"]
WorkflowName = Literal["backtest_universe", "research"]

MAX_STEPS = 200
MAX_TOKENS = 500_000
MAX_SECONDS = 3_600


class TaskLimits(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What a task may spend; it stops (failed, in words) when one runs out."""

    max_steps: Annotated[int, msgspec.Meta(ge=1, le=MAX_STEPS)] = 60
    max_tokens: Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS)] = 60_000
    """Model tokens (input + output) over every step; 0 runs without the model (no summary)."""
    max_seconds: Annotated[int, msgspec.Meta(ge=5, le=MAX_SECONDS)] = 900


class BacktestUniverseParams(
    msgspec.Struct, tag="backtest_universe", tag_field="workflow", forbid_unknown_fields=True, kw_only=True
):
    """Backfill symbols, compute an indicator, backtest one rule on each, rank them, summarise."""

    symbols: Annotated[list[Symbol], msgspec.Meta(min_length=1, max_length=50)]
    timeframe: Timeframe = "1d"
    start: dt.date | None = None
    """First day to backfill (default: two years before ``end``)."""
    end: dt.date | None = None
    """Last day to backfill (default: today)."""
    source: Literal["polygon", "synthetic"] | None = None
    """Where bars come from (default: Polygon when a key is set, else the synthetic source)."""
    fetch: bool = True
    """Backfill first; without it, only symbols already stored are tested."""
    indicator: Annotated[str, msgspec.Meta(max_length=200)] = "rsi(14)"
    """An indicator spec to compute and store on each series (e.g. ``rsi(14)``)."""
    code: StrategyCode = (
        "period = param(14, min=2, max=100)\n"
        "long_entry = rsi(close, period) < 30\n"
        "long_exit = rsi(close, period) > 50\n"
    )
    """The rule backtested on each symbol (default: RSI mean reversion)."""
    rank_by: MetricName = "sharpe"
    initial_cash: Annotated[float, msgspec.Meta(gt=0, le=1e12)] = 10_000.0


class ResearchParams(
    msgspec.Struct, tag="research", tag_field="workflow", forbid_unknown_fields=True, kw_only=True
):
    """A goal in words: the model plans and calls the tools (with your role) until done or out of limits."""

    goal: Annotated[str, msgspec.Meta(min_length=1, max_length=4_000)]


WorkflowParams = BacktestUniverseParams | ResearchParams


class AgentTaskRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/v1/agents/task``."""

    params: WorkflowParams
    """The workflow (``workflow`` tag) and its parameters."""
    limits: TaskLimits = msgspec.field(default_factory=TaskLimits)


class AgentTaskAccepted(msgspec.Struct, kw_only=True):
    """The answer of ``POST /agents/task``: follow it by ``agent_status`` events or ``GET /agents/status``."""

    task_id: str
    job_id: str
    status_url: str


class AgentTaskJob(msgspec.Struct, frozen=True, kw_only=True):
    """The ``agent_task`` job: the recorded task to run with the tools of ``role``."""

    task_id: str
    role: Role


class AgentStep(msgspec.Struct, kw_only=True):
    """One step of a task."""

    index: int
    name: str
    state: StepState
    detail: str = ""
    """One line for people: what the step did or is doing."""
    result: Any = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None


class AgentTask(msgspec.Struct, kw_only=True):
    """A task with its steps, its limits and what it used."""

    task_id: str
    workflow: WorkflowName
    owner: str
    state: TaskState
    params: dict[str, Any]
    limits: TaskLimits
    job_id: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None = None
    steps: list[AgentStep] = msgspec.field(default_factory=list)
    summary: str | None = None
    error: str | None = None
    ranking: list[dict[str, Any]] | None = None
    """``backtest_universe``: each symbol's metrics, best first by ``rank_by``."""
    references: list[ChartReference] = msgspec.field(default_factory=list)
    usage: list[Usage] = msgspec.field(default_factory=list)
    """Tokens and cost per provider and model."""
    cost_usd: float | None = None


class AgentStatus(msgspec.Struct, tag="agent_status", tag_field="type", kw_only=True):
    """A task's state changed (a step started or finished, or the task ended); relayed to its owner."""

    task: AgentTask
    owner: str


class WorkflowTemplate(msgspec.Struct, kw_only=True):
    """A named workflow: what it does, its steps, its parameters (JSON schema) and an example."""

    name: WorkflowName
    title: str
    description: str
    steps: list[str]
    needs_model: bool
    """It calls the model (a provider must be configured); others only summarise with it when one is."""
    parameters: dict[str, Any]
    example: dict[str, Any]
