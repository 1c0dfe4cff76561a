"""Every kind of background job, and what each one is.

A new kind is a task function in a module of this package (``async def task(job: JobContext,
request: R) -> JobEnd``, a thin call into its concept package's service), a member of
:class:`JobKind` and its :class:`~pipelines.jobs.task.JobType` entry in :data:`JOB_TYPES`.
Routes and commands start it with ``submit(queue, jobs, JobKind.X, request, owner)``; the worker
registers it under the member's value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from pipelines.jobs import assistant as assistant_job
from pipelines.jobs import fetch as fetch_job
from pipelines.jobs import flat_files as flat_file_job
from pipelines.jobs import indicators as indicator_job
from pipelines.jobs import projections as projection_job
from pipelines.jobs import strategies as strategy_job
from pipelines.jobs.task import JobType
from schemas.agents import AgentTaskJob
from schemas.chat import ChatTurnJob
from schemas.datasets import FetchRequest
from schemas.flat_files import FlatFileRequest
from schemas.indicators import IndicatorCalculateRequest
from schemas.projections import EvaluationJob, ProjectionJob
from schemas.strategies import StrategyRunJob


class JobKind(StrEnum):
    """A kind of job; its value is both the ``kind`` a job is stored (and answered) with and its ARQ task."""

    FETCH = "fetch"
    """Bars from a source (``POST /stocks/fetch``, ``k2q fetch``)."""
    FLAT_FILES = "flat_files"
    """Polygon flat files (``POST /stocks/flat-files``, ``k2q backfill`` through a server)."""
    INDICATORS = "indicators"
    """Indicators over a whole stored series (``POST /indicators/calculate``)."""
    PROJECTION = "projection"
    """A forecast of a stored series (``POST /projections``)."""
    PROJECTION_EVALUATION = "projection_evaluation"
    """Methods projected from past cut points and scored (``POST /projections/evaluate``)."""
    STRATEGY_RUN = "strategy_run"
    """A backtest, sweep or walk-forward (``POST /strategies/apply``, ``/sweep``, ``/walk-forward``)."""
    CHAT_TURN = "chat_turn"
    """The assistant's answer to a message and its tool calls (``POST /chat/message``, ``/chat/confirm``)."""
    AGENT_TASK = "agent_task"
    """A multi-step agent workflow (``POST /agents/task``)."""

    @property
    def type(self) -> JobType[Any]:
        """What this kind of job is."""
        return JOB_TYPES[self]


JOB_TYPES: Final[Mapping[JobKind, JobType[Any]]] = MappingProxyType(
    {
        JobKind.FETCH: JobType(
            FetchRequest,
            fetch_job.fetch_bars,
            fetch_job.progress_labels,
            timeout=dt.timedelta(hours=6),  # the whole market may take hours
            failure_message=fetch_job.FAILED_MESSAGE,
        ),
        JobKind.FLAT_FILES: JobType(
            FlatFileRequest,
            flat_file_job.load_flat_files,
            flat_file_job.progress_labels,
            timeout=dt.timedelta(hours=24),  # years of whole-market minute files take hours
        ),
        JobKind.INDICATORS: JobType(
            IndicatorCalculateRequest,
            indicator_job.calculate_indicators,
            indicator_job.progress_labels,
            timeout=dt.timedelta(minutes=30),
        ),
        JobKind.PROJECTION: JobType(
            ProjectionJob,
            projection_job.compute_projection,
            projection_job.projection_labels,
            timeout=dt.timedelta(minutes=10),
        ),
        JobKind.PROJECTION_EVALUATION: JobType(
            EvaluationJob,
            projection_job.evaluate_projections,
            projection_job.evaluation_labels,
            timeout=dt.timedelta(hours=1),  # AutoARIMA at 100 cut points
        ),
        JobKind.STRATEGY_RUN: JobType(
            StrategyRunJob,
            strategy_job.run_strategy,
            strategy_job.progress_labels,
            timeout=dt.timedelta(hours=1),  # a 10,000-combination sweep over millions of bars
        ),
        JobKind.CHAT_TURN: JobType(
            ChatTurnJob,
            assistant_job.run_chat_turn,
            assistant_job.chat_labels,
            timeout=dt.timedelta(hours=2),  # its tools may backfill years of bars
        ),
        JobKind.AGENT_TASK: JobType(
            AgentTaskJob,
            assistant_job.run_agent_task,
            assistant_job.agent_labels,
            timeout=dt.timedelta(hours=6),  # its own limit stops it first (at most an hour)
        ),
    }
)
"""Every kind's :class:`~pipelines.jobs.task.JobType`; the worker's functions are built from it."""

if set(JOB_TYPES) != set(JobKind):  # pragma: no cover - caught by any import
    raise RuntimeError(f"job kinds without a type: {sorted(set(JobKind) - set(JOB_TYPES))}")
