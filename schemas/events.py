"""Events published on Redis and relayed to WebSocket clients."""

from __future__ import annotations

import msgspec

from schemas.jobs import SymbolProgress
from schemas.values import JobState

EVENTS_CHANNEL = "k2q:events"
"""The Redis pub/sub channel every event goes out on."""


class FetchProgress(msgspec.Struct, tag="fetch_progress", tag_field="type", kw_only=True):
    """Progress of a fetch job: per symbol windows done / total, bars stored, errors."""

    job_id: str
    owner: str
    """Relayed only to this user and to admins."""
    state: JobState
    symbols: list[SymbolProgress]


Event = FetchProgress
"""Every event type (a tagged union as more kinds arrive)."""
