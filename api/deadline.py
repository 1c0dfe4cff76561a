"""Every HTTP request's work is bounded in time: past its deadline it is stopped and answered 503.

The deadline is :data:`REQUEST_DEADLINE_S` unless the route sets its own in ``opt``
(``{"deadline_s": 900}`` for a file import, which includes the upload; ``None`` for a download
that streams for as long as the file is). A request stopped before its answer started gets a 503
problem with ``Retry-After``; one stopped while streaming is cut off (its client sees the stream end
early, as when the connection drops). Stopping cancels the handler: temporary files are removed by
the ``with`` blocks that made them, and store queries carry their own time budget.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

import msgspec
import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger(__name__)

REQUEST_DEADLINE_S: Final = 60.0
"""Longest any request may take unless its route says otherwise (a chart's queries stop after 15 s)."""
DEADLINE_OPT: Final = "deadline_s"


def deadline_of(scope: Scope) -> float | None:
    """The deadline of the route ``scope`` was routed to, in seconds (None: unbounded)."""
    handler = scope.get("route_handler")
    opt: dict[str, Any] = getattr(handler, "opt", None) or {}
    if DEADLINE_OPT in opt:
        value = opt[DEADLINE_OPT]
        return None if value is None else float(value)
    return REQUEST_DEADLINE_S


class DeadlineMiddleware:
    """Runs each HTTP request under its route's deadline (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Call the app under the route's deadline; answer 503 when it runs out before the answer starts."""
        deadline = deadline_of(scope) if scope["type"] == ScopeType.HTTP else None
        if deadline is None:
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        timer = asyncio.timeout(deadline)
        try:
            async with timer:
                await self.app(scope, receive, sending)
        except TimeoutError:
            if not timer.expired():  # the handler's own timeout, not ours
                raise
            log.warning("request over its deadline", path=scope.get("path"), deadline_s=deadline)
            if not started:
                await _send_problem(send, deadline)


async def _send_problem(send: Send, deadline: float) -> None:
    body = msgspec.json.encode(
        {
            "status": 503,
            "title": "Unavailable",
            "detail": f"the request took longer than its {deadline:g} s limit and was stopped; try again",
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"5"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
