"""``/metrics``: Prometheus' text format, for admins (Prometheus sends an admin API key as a bearer token)."""

from __future__ import annotations

from litestar import Response, get
from prometheus_client import CONTENT_TYPE_LATEST

from api.auth.guards import role
from api.deps import RuntimeDep
from api.metrics import scrape


@get("/metrics", operation_id="metrics", tags=["health"], opt=role("admin"), include_in_schema=False)
async def metrics(runtime: RuntimeDep) -> Response[bytes]:
    """Requests, WebSocket clients, jobs, queue depth, bars ingested, ClickHouse time, caches, stores."""
    return Response(await scrape(runtime), media_type=CONTENT_TYPE_LATEST)
