"""Fan-out of Redis events to this process's WebSocket clients: one subscription per API replica."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import msgspec
import structlog
from redis.asyncio import Redis

from schemas.events import EVENTS_CHANNEL, Event
from warehouse.metrics import WEBSOCKET_CLIENTS

QUEUE_SIZE = 256
"""Events kept per client while it is slow; the oldest go first (progress events supersede each other)."""

log = structlog.get_logger(__name__)
_decoder = msgspec.json.Decoder(Event)


class EventHub:
    """Subscribes to :data:`schemas.events.EVENTS_CHANNEL` once and hands each event to every client queue."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.queues: set[asyncio.Queue[Event]] = set()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Subscribe and start relaying (app start-up)."""
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(EVENTS_CHANNEL)
        self._task = asyncio.create_task(self._relay(pubsub), name="event-hub")

    async def stop(self) -> None:
        """Stop relaying (app shutdown)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @contextlib.contextmanager
    def subscription(self) -> Iterator[asyncio.Queue[Event]]:
        """A queue that receives every event while the context lasts."""
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        self.queues.add(queue)
        WEBSOCKET_CLIENTS.inc()
        try:
            yield queue
        finally:
            self.queues.discard(queue)
            WEBSOCKET_CLIENTS.dec()

    async def _relay(self, pubsub: object) -> None:
        async with pubsub:  # type: ignore[attr-defined]
            async for message in pubsub.listen():  # type: ignore[attr-defined]
                if message.get("type") != "message":
                    continue
                try:
                    event = _decoder.decode(message["data"])
                except msgspec.DecodeError:
                    log.warning("undecodable event dropped")
                    continue
                for queue in tuple(self.queues):
                    if queue.full():
                        queue.get_nowait()
                    queue.put_nowait(event)
