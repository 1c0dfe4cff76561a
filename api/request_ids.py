"""Every request (and WebSocket) gets an id: bound to each log line it causes, answered as ``X-Request-Id``.

A client (or a proxy) may send its own ``X-Request-Id`` (letters, digits, ``-`` and ``_``, at most
64); anything else is replaced by a new one. A 500's problem body shows the id ("quote this id"),
and the log line with its stack carries the same one.
"""

from __future__ import annotations

import re
import uuid
from typing import Final

import structlog
from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

HEADER: Final = "x-request-id"
_VALID: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def current_request_id() -> str | None:
    """The id of the request being answered, if any."""
    value = structlog.contextvars.get_contextvars().get("request_id")
    return value if isinstance(value, str) else None


class RequestIdMiddleware:
    """Binds ``request_id`` for the request's log lines and sends it back as ``X-Request-Id``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the request (or socket) with its id bound."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers") or []).get(HEADER.encode(), b"").decode("latin-1")
        request_id = sent if _VALID.match(sent) else uuid.uuid4().hex

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message)[HEADER] = request_id
            elif message["type"] == "websocket.accept":
                message["headers"] = [*message.get("headers", ()), (HEADER.encode(), request_id.encode())]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            await self.app(scope, receive, send_with_id)
