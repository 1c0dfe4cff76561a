"""Liveness and readiness answers."""

from __future__ import annotations

from typing import Literal

import msgspec


class StoreHealth(msgspec.Struct, kw_only=True):
    """One store's readiness."""

    ok: bool
    mode: Literal["embedded", "server"]
    latency_ms: float
    error: str | None = None


class Readiness(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Answer of ``GET /ready``: every store checked; the detail only for signed-in callers."""

    ok: bool
    stores: dict[str, StoreHealth] | None = None


class Liveness(msgspec.Struct, kw_only=True):
    """Answer of ``GET /health``."""

    ok: bool
    version: str
