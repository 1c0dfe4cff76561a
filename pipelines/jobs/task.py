"""What a job kind is: a task function, the request it takes, and what the runner gives and expects back."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import msgspec

from pipelines.services import Services
from schemas.jobs import SymbolProgress
from schemas.values import JobState

RequestT = TypeVar("RequestT", bound=msgspec.Struct)

ProgressReport = Callable[[list[SymbolProgress]], Awaitable[None]]
"""Records a job's progress in Postgres and publishes it as a ``fetch_progress`` event."""


class JobEnd(msgspec.Struct, frozen=True, kw_only=True):
    """How a task ended; the runner records it (a cancel that came meanwhile wins) and publishes it."""

    state: JobState
    """``complete``, ``failed`` or ``cancelled``."""
    progress: list[SymbolProgress] | None = None
    """The job's final progress entries (None keeps the last reported ones)."""
    error: str | None = None
    message: str | None = None
    """One line for people: what the job did."""


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a running task is given by the runner."""

    services: Services
    job_id: str
    owner: str
    """Who started the job (events are relayed to them and to admins)."""
    report: ProgressReport
    """Record and publish the job's progress (call it as often as progress changes; throttle bursts)."""
    stop: asyncio.Event
    """Set once the job is cancelled (the heartbeat sees it within a second): stop, keeping what is stored."""

    async def should_stop(self) -> bool:
        """Whether the task should stop now (for work that asks between steps)."""
        return self.stop.is_set()


@dataclass(frozen=True, slots=True)
class JobType(Generic[RequestT]):
    """One kind of job: what it does and how the runner, ``submit`` and the worker treat it."""

    request: type[RequestT]
    """The request the job runs (stored with the job as JSON, converted back for the task)."""
    task: Callable[[JobContext, RequestT], Awaitable[JobEnd]]
    """Does the work. Raising a ``PipelineError`` or ``WarehouseError`` fails the job with its
    message; any other exception fails it as an internal error and is raised again (logged)."""
    labels: Callable[[RequestT], list[str]]
    """The job's progress entries when it is recorded (e.g. one per symbol)."""
    timeout: dt.timedelta
    """Beyond this the worker stops the job."""
    failure_message: str | None = None
    """The message of a job that failed whole (e.g. what it kept and how to resume)."""
