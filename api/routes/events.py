"""``/api/v1/ws``: live events for the signed-in user.

Every socket receives its jobs' progress (admins: every job's). Live bars are opt-in per symbol:
a client sends ``{"action": "subscribe", "symbols": ["AAPL"]}`` (or ``unsubscribe``) and from then
on receives the ``stock_update`` and ``indicator_calculated`` events of those symbols (market data
is no user's secret: any signed-in viewer may subscribe); a user's own indicator jobs announce
their ``indicator_calculated`` events to them wherever they are subscribed. Every client message
is answered with ``subscribed`` (the
symbols now subscribed) or ``error``. An analyst may add ``"stream": true`` to have the server
stream those symbols from Polygon while the socket stays open.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Final
from urllib.parse import urlsplit

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from api.auth.guards import role
from api.auth.principal import Principal, principal_of
from api.deps import RuntimeDep
from api.events import EventHub
from api.live import ServerStreams
from pipelines.errors import PipelineError
from schemas.agents import AgentStatus
from schemas.auth import outranks
from schemas.chat import ChatResponse
from schemas.events import (
    ClientMessage,
    Event,
    FetchProgress,
    SocketError,
    StockUpdate,
    Subscribe,
    Subscribed,
    Unsubscribe,
)
from schemas.indicators import IndicatorCalculated
from schemas.strategies import StrategyApplied

FORBIDDEN_ORIGIN = 4403
"""Close code for a socket from a foreign page (before the handshake, servers answer it as HTTP 403)."""
MAX_SYMBOLS: Final = 100
"""Most symbols one socket may subscribe to."""

_messages = msgspec.json.Decoder(ClientMessage)


def visible(event: Event, principal: Principal, symbols: set[str] | frozenset[str] = frozenset()) -> bool:
    """Whether a socket of ``principal`` subscribed to ``symbols`` receives ``event``."""
    if isinstance(event, FetchProgress | StrategyApplied | AgentStatus):
        return principal.role == "admin" or event.owner == principal.username
    if isinstance(event, ChatResponse):  # a conversation is its user's alone
        return event.owner == principal.username
    if isinstance(event, IndicatorCalculated):
        mine = event.owner is not None and (principal.role == "admin" or event.owner == principal.username)
        return mine or event.symbol in symbols
    return isinstance(event, StockUpdate) and event.symbol in symbols


def same_origin(socket: WebSocket[Any, Any, Any], allowed: tuple[str, ...]) -> bool:
    """A browser's socket must come from this site's pages (or an allowed origin): no cross-site hijacking."""
    origin = socket.headers.get("origin")
    if origin is None:  # not a browser: authenticated by its API key alone
        return True
    return urlsplit(origin).netloc == socket.headers.get("host") or origin in allowed


class _Session:
    """One socket's subscriptions and stream leases."""

    def __init__(self, principal: Principal, streams: ServerStreams | None) -> None:
        self.principal = principal
        self.streams = streams
        self.symbols: set[str] = set()
        self.leases: dict[int, frozenset[str]] = {}

    async def answer(self, text: str) -> Subscribed | SocketError:
        try:
            message = _messages.decode(text)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            return SocketError(detail=f"not a client message: {exc}")
        except ValueError as exc:
            return SocketError(detail=str(exc))
        if isinstance(message, Unsubscribe):
            self.symbols.difference_update(message.symbols)
            for lease, symbols in list(self.leases.items()):
                if symbols <= set(message.symbols) and self.streams is not None:
                    await self.streams.release(lease)
                    del self.leases[lease]
            return self.state()
        assert isinstance(message, Subscribe)
        if len(self.symbols | set(message.symbols)) > MAX_SYMBOLS:
            return SocketError(detail=f"a socket may subscribe to at most {MAX_SYMBOLS} symbols")
        if message.stream:
            if not outranks(self.principal.role, "analyst"):
                return SocketError(detail="streaming from Polygon needs the analyst role")
            if self.streams is None:
                return SocketError(detail="this server cannot stream")
            try:
                self.leases[await self.streams.lease(message.symbols)] = frozenset(message.symbols)
            except PipelineError as exc:
                return SocketError(detail=str(exc))
        self.symbols.update(message.symbols)
        return self.state()

    def state(self) -> Subscribed:
        streaming = sorted(set().union(*self.leases.values())) if self.leases else []
        return Subscribed(symbols=sorted(self.symbols), streaming=streaming)

    async def close(self) -> None:
        if self.streams is not None:
            for lease in self.leases:
                await self.streams.release(lease)
        self.leases.clear()


@websocket("/api/v1/ws", opt=role("viewer"))
async def events(socket: WebSocket[Any, Any, Any], runtime: RuntimeDep) -> None:
    """Relay events as JSON text messages with a ``type`` (``fetch_progress``, ``stock_update`` …)."""
    principal = principal_of(socket)
    if not same_origin(socket, runtime.settings.auth.cors_origins):
        await socket.close(code=FORBIDDEN_ORIGIN, reason="cross-site socket refused")
        return
    hub: EventHub = socket.app.state.event_hub
    session = _Session(principal, socket.app.state.get("live_streams"))
    sending = asyncio.Lock()
    await socket.accept()

    async def send(payload: Event | Subscribed | SocketError) -> None:
        async with sending:
            await socket.send_text(msgspec.json.encode(payload).decode())

    with hub.subscription() as queue:

        async def relay() -> None:
            while True:
                event = await queue.get()
                if visible(event, principal, session.symbols):
                    await send(event)

        async def receive() -> None:
            with contextlib.suppress(WebSocketDisconnect):
                while True:
                    text = await socket.receive_data(mode="text")
                    await send(await session.answer(text))

        tasks = [asyncio.create_task(relay()), asyncio.create_task(receive())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await asyncio.gather(*tasks)
            await session.close()
