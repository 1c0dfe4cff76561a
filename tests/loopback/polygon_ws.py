"""A loopback Polygon stocks WebSocket: the documented protocol on 127.0.0.1, for real-client tests.

It speaks as Polygon's ``/stocks`` cluster does: on connect it sends
``[{"ev":"status","status":"connected","message":"Connected Successfully"}]``; ``{"action":"auth",
"params":KEY}`` is answered ``auth_success`` (the right key) or ``auth_failed`` (then the socket is
closed); ``subscribe``/``unsubscribe`` with ``AM.<ticker>`` params are acknowledged per ticker with
a ``success`` status; data sent before authenticating is refused with a ``not authorized`` status.

Tests push ``AM`` events (:meth:`PolygonWsLoopback.push`) to every connection subscribed to their
ticker, and script failures: :meth:`drop` cuts every connection (no close frame),
:meth:`refuse_auth` makes the next authentications fail. Everything received is recorded.

Example:
    >>> with PolygonWsLoopback(api_key="k") as polygon:  # doctest: +SKIP
    ...     stream = PolygonStream("k", ["AAPL"], url=polygon.url)
    ...     polygon.push([am_event("AAPL", 1710250200000, 189.4)])
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

import msgspec
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed


def status(state: str, message: str) -> dict[str, str]:
    """A status event."""
    return {"ev": "status", "status": state, "message": message}


def am_event(
    symbol: str,
    start_ms: int,
    close: float,
    *,
    open_: float | None = None,
    high: float | None = None,
    low: float | None = None,
    volume: float = 1_000,
    vwap: float | None = None,
) -> dict[str, Any]:
    """An ``AM`` event as Polygon sends it (the minute starting at ``start_ms``)."""
    o = close if open_ is None else open_
    h = max(o, close) if high is None else high
    lo = min(o, close) if low is None else low
    return {
        "ev": "AM",
        "sym": symbol,
        "v": volume,
        "av": volume * 10,
        "op": o,
        "vw": (h + lo) / 2 if vwap is None else vwap,
        "o": o,
        "c": close,
        "h": h,
        "l": lo,
        "a": (h + lo) / 2,
        "z": 100,
        "s": start_ms,
        "e": start_ms + 60_000,
    }


@dataclass
class _Client:
    connection: ServerConnection
    authenticated: bool = False
    subscriptions: set[str] = field(default_factory=set)


class PolygonWsLoopback:
    """A Polygon stocks WebSocket server on ``127.0.0.1`` with an OS-assigned port, run in a thread.

    Args:
        api_key: The only key that authenticates.
    """

    def __init__(self, api_key: str = "loopback-key") -> None:
        """Create a stopped server; :meth:`start` or ``with`` runs it."""
        self.api_key = api_key
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._clients: list[_Client] = []
        self._port = 0
        self.reset()

    def reset(self) -> None:
        """Forget what was recorded and every scripted failure."""
        self.received: list[dict[str, Any]] = []
        """Every client message, decoded (``auth`` params included: tests check what was sent)."""
        self.connections = 0
        self.auth_failures_left = 0

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:<port>/stocks`` of the running server."""
        if not self._port:
            raise RuntimeError("the loopback WebSocket server is not running")
        return f"ws://127.0.0.1:{self._port}/stocks"

    def start(self) -> Self:
        """Serve in a background thread; return once the server accepts connections."""
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop

            async def main() -> None:
                self._server = await serve(self._handle, "127.0.0.1", 0)
                self._port = self._server.sockets[0].getsockname()[1] if self._server.sockets else 0
                ready.set()
                await self._server.wait_closed()

            loop.run_until_complete(main())
            loop.close()

        self._thread = threading.Thread(target=run, name="polygon-ws-loopback", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the loopback WebSocket server did not start")
        return self

    def stop(self) -> None:
        """Close every connection, stop the server and join its thread."""
        if self._server is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = self._loop = None
        self._port = 0

    def __enter__(self) -> Self:
        """Start the server."""
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        """Stop the server."""
        self.stop()

    # -- scripting ----------------------------------------------------------------------------

    def push(self, events: Iterable[Mapping[str, Any]]) -> int:
        """Send ``events`` (one message) to each connection subscribed to any of their tickers.

        Returns:
            How many connections received the message.
        """
        batch = list(events)

        async def send() -> int:
            sent = 0
            for client in list(self._clients):
                wanted = [e for e in batch if f"AM.{e.get('sym')}" in client.subscriptions]
                if client.authenticated and wanted:
                    try:
                        await client.connection.send(msgspec.json.encode(wanted).decode())
                    except ConnectionClosed:
                        continue
                    sent += 1
            return sent

        return self._call(send())

    def drop(self) -> int:
        """Cut every open connection without a close frame (a network failure); return how many."""

        async def cut() -> int:
            clients = list(self._clients)
            for client in clients:
                transport = client.connection.transport
                transport.abort()
            return len(clients)

        return self._call(cut())

    def refuse_auth(self, times: int = 1) -> None:
        """Answer the next ``times`` authentications with ``auth_failed``, whatever the key."""
        self.auth_failures_left = times

    def subscribed(self) -> set[str]:
        """Channels (``AM.<ticker>``) subscribed on authenticated open connections."""
        return {sub for client in self._clients if client.authenticated for sub in client.subscriptions}

    async def until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait (without blocking the caller's event loop) until ``predicate()`` holds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("the loopback WebSocket never reached the expected state")
            await asyncio.sleep(0.01)

    def _call(self, coroutine: Any) -> Any:
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("the loopback WebSocket server is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    # -- the protocol -------------------------------------------------------------------------

    async def _handle(self, connection: ServerConnection) -> None:
        client = _Client(connection)
        self._clients.append(client)
        self.connections += 1
        try:
            await self._send(connection, status("connected", "Connected Successfully"))
            async for raw in connection:
                try:
                    message = msgspec.json.decode(raw)
                except msgspec.DecodeError:
                    await self._send(connection, status("error", "invalid message"))
                    continue
                self.received.append(message)
                await self._answer(client, message)
        except ConnectionClosed:
            pass
        finally:
            self._clients.remove(client)

    async def _answer(self, client: _Client, message: Any) -> None:
        connection = client.connection
        action = message.get("action") if isinstance(message, dict) else None
        params = str(message.get("params", "")) if isinstance(message, dict) else ""
        if action == "auth":
            if self.auth_failures_left > 0 or params != self.api_key:
                self.auth_failures_left = max(0, self.auth_failures_left - 1)
                await self._send(connection, status("auth_failed", "authentication failed"))
                await connection.close(1008, "authentication failed")
                return
            client.authenticated = True
            await self._send(connection, status("auth_success", "authenticated"))
            return
        if not client.authenticated:
            await self._send(connection, status("error", "not authorized"))
            return
        channels = [part.strip() for part in params.split(",") if part.strip()]
        if action == "subscribe":
            client.subscriptions.update(channels)
            await self._send(connection, *(status("success", f"subscribed to: {c}") for c in channels))
        elif action == "unsubscribe":
            client.subscriptions.difference_update(channels)
            await self._send(connection, *(status("success", f"unsubscribed to: {c}") for c in channels))
        else:
            await self._send(connection, status("error", f"unknown action: {action}"))

    @staticmethod
    async def _send(connection: ServerConnection, *events: Mapping[str, Any]) -> None:
        await connection.send(msgspec.json.encode(list(events)).decode())
