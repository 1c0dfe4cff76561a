"""Publish events on Redis pub/sub, for every API replica to relay to its WebSocket clients."""

from __future__ import annotations

import msgspec
from redis.asyncio import Redis

from schemas.events import EVENTS_CHANNEL, Event


class EventPublisher:
    """Sends events as JSON on :data:`schemas.events.EVENTS_CHANNEL`."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def publish(self, event: Event) -> None:
        """Publish ``event``; losing it loses nothing durable (state lives in Postgres)."""
        await self.redis.publish(EVENTS_CHANNEL, msgspec.json.encode(event))
