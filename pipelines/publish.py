"""Publish events on Redis pub/sub, for every API replica to relay to its WebSocket clients."""

from __future__ import annotations

import logging

import msgspec
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from schemas.events import EVENTS_CHANNEL, Event

_log = logging.getLogger(__name__)


class EventPublisher:
    """Sends events as JSON on :data:`schemas.events.EVENTS_CHANNEL`."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._lost = False

    async def publish(self, event: Event) -> None:
        """Publish ``event``; losing it loses nothing durable (state lives in Postgres).

        While Redis is unreachable events are dropped (logged once per outage), so that the work
        announcing them goes on.
        """
        try:
            await self.redis.publish(EVENTS_CHANNEL, msgspec.json.encode(event))
        except (RedisConnectionError, RedisTimeoutError) as exc:
            if not self._lost:
                _log.warning("events are dropped while Redis is unreachable: %s", exc)
            self._lost = True
            return
        if self._lost:
            _log.info("events are published again: Redis answers")
            self._lost = False
