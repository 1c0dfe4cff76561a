"""Each HTTP request's latency, by method, route template (``/api/v1/jobs/{job_id:str}``) and status."""

from __future__ import annotations

import time

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from warehouse.metrics import HTTP_REQUEST_SECONDS


class RequestMetricsMiddleware:
    """Observes ``k2q_http_request_duration_seconds`` once the answer is sent (or the request fails).

    The route template, not the path, labels the request, so the series stay few however many
    symbols and ids are asked for. A request that fails in a middleware inside this one is counted
    with the status its exception carries (500 when it carries none).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the request and time it."""
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        except Exception as exc:
            status = getattr(exc, "status_code", 500)
            raise
        finally:
            route = scope.get("path_template") or "unmatched"
            HTTP_REQUEST_SECONDS.labels(scope["method"], route, str(status)).observe(
                time.perf_counter() - started
            )
