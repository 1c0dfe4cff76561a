"""Fan-out of Redis events to this process's WebSocket clients: one subscription per API replica."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import msgspec
import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from schemas.events import EVENTS_CHANNEL, Event
from warehouse.metrics import WEBSOCKET_CLIENTS

QUEUE_SIZE = 256
"""Events kept per client while it is slow; the oldest go first (progress events supersede each other)."""

RESUBSCRIBE_S = 0.5
"""How often a lost subscription is tried again (events published meanwhile are missed: progress
events supersede each other, and a page reads the state again when its socket reconnects)."""

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
        self._task = asyncio.create_task(self._relay(await self._subscribe()), name="event-hub")

    async def _subscribe(self) -> PubSub:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(EVENTS_CHANNEL)
        return pubsub

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

    async def _relay(self, pubsub: PubSub) -> None:
        """Relay until cancelled; when Redis drops the subscription, subscribe again once it answers."""
        while True:
            try:
                async with pubsub:
                    async for message in pubsub.listen():
                        self._hand_out(message)
            except (RedisConnectionError, RedisTimeoutError) as exc:
                log.warning("event subscription lost; subscribing again", error=str(exc))
            while True:
                await asyncio.sleep(RESUBSCRIBE_S)
                try:
                    pubsub = await self._subscribe()
                except (RedisConnectionError, RedisTimeoutError):
                    continue
                log.info("event subscription restored")
                break

    def _hand_out(self, message: dict[str, Any]) -> None:
        if message.get("type") != "message":
            return
        try:
            event = _decoder.decode(message["data"])
        except msgspec.DecodeError:
            log.warning("undecodable event dropped")
            return
        for queue in tuple(self.queues):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)
