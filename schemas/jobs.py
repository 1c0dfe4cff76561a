"""Background jobs (fetches now, more kinds later) and their progress."""

from __future__ import annotations

import datetime as dt

import msgspec

from schemas.values import JobState


class SymbolProgress(msgspec.Struct, kw_only=True):
    """Progress of one symbol inside a fetch job."""

    symbol: str
    """The symbol, or ``*`` for a whole-market fetch (one entry for every ticker)."""
    windows_done: int = 0
    """Windows whose bars are stored (and checkpointed)."""
    windows_total: int = 0
    bars: int = 0
    """Bars stored from the source so far (windows resumed from an earlier run included)."""
    error: str | None = None
    table: str | None = None
    windows_failed: int = 0
    """Windows that failed after every retry; a re-run of the same fetch fetches only these and the rest."""


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
    request_id: str | None = None
    """The HTTP request that queued the job (its ``X-Request-Id``); the job's log lines carry it too."""


class JobAccepted(msgspec.Struct, kw_only=True):
    """Answer of an endpoint that enqueued a job (HTTP 202)."""

    job_id: str
    status_url: str
