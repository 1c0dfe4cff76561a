"""``/api/v1/ws``: live events for the signed-in user (their jobs' progress; admins see every job)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import urlsplit

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from api.auth.guards import role
from api.auth.principal import Principal, principal_of
from api.deps import RuntimeDep
from api.events import EventHub
from schemas.events import Event

FORBIDDEN_ORIGIN = 4403
"""Close code for a socket from a foreign page (before the handshake, servers answer it as HTTP 403)."""


def visible(event: Event, principal: Principal) -> bool:
    """Whether ``principal`` may see ``event``."""
    return principal.role == "admin" or event.owner == principal.username


def same_origin(socket: WebSocket[Any, Any, Any], allowed: tuple[str, ...]) -> bool:
    """A browser's socket must come from this site's pages (or an allowed origin): no cross-site hijacking."""
    origin = socket.headers.get("origin")
    if origin is None:  # not a browser: authenticated by its API key alone
        return True
    return urlsplit(origin).netloc == socket.headers.get("host") or origin in allowed


@websocket("/api/v1/ws", opt=role("viewer"))
async def events(socket: WebSocket[Any, Any, Any], runtime: RuntimeDep) -> None:
    """Relay events as JSON text messages, each with a ``type`` field (e.g. ``fetch_progress``)."""
    principal = principal_of(socket)
    if not same_origin(socket, runtime.settings.auth.cors_origins):
        await socket.close(code=FORBIDDEN_ORIGIN, reason="cross-site socket refused")
        return
    hub: EventHub = socket.app.state.event_hub
    await socket.accept()
    with hub.subscription() as queue:

        async def send() -> None:
            while True:
                event = await queue.get()
                if visible(event, principal):
                    await socket.send_text(msgspec.json.encode(event).decode())

        async def wait_for_close() -> None:
            with contextlib.suppress(WebSocketDisconnect):
                while True:
                    await socket.receive_data(mode="text")

        tasks = [asyncio.create_task(send()), asyncio.create_task(wait_for_close())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await asyncio.gather(*tasks)
