"""Background jobs (fetches now, more kinds later) and their progress."""

from __future__ import annotations

import datetime as dt

import msgspec

from schemas.values import JobState


class SymbolProgress(msgspec.Struct, kw_only=True):
    """Progress of one symbol inside a fetch job."""

    symbol: str
    windows_done: int = 0
    windows_total: int = 0
    bars: int = 0
    error: str | None = None
    table: str | None = None


class JobStatus(msgspec.Struct, kw_only=True):
    """State of a background job, as ``GET /api/v1/jobs/{job_id}`` answers it."""

    job_id: str
    kind: str
    owner: str
    """Who started the job; only they and admins see it."""
    state: JobState
    created_at: dt.datetime
    updated_at: dt.datetime
    symbols: list[SymbolProgress]
    error: str | None = None
    message: str | None = None


class JobAccepted(msgspec.Struct, kw_only=True):
    """Answer of an endpoint that enqueued a job (HTTP 202)."""

    job_id: str
    status_url: str
