"""Series versions: a token that changes whenever a series' bars change, for ETags and caches.

Kept in Redis. Losing Redis loses nothing: a fresh random epoch starts new versions, so no
token from before the loss can match again.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from redis.asyncio import Redis

from warehouse.clickhouse.bars import SeriesRef

_EPOCH_KEY = "k2q:series-version-epoch"


def _key(ref: SeriesRef) -> str:
    return f"k2q:series-version:{ref.symbol}:{ref.series}:{int(ref.adjusted)}"


class SeriesVersions:
    """Per-series change counters."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def get(self, ref: SeriesRef) -> str:
        """The current version of ``ref`` (one round trip: chart requests ask on their hot path)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(_EPOCH_KEY, secrets.token_hex(8), nx=True)
            pipe.get(_EPOCH_KEY)
            pipe.get(_key(ref))
            _, epoch, count = await pipe.execute()
        return f"{epoch.decode() if isinstance(epoch, bytes) else epoch}.{int(count or 0)}"

    async def bump(self, ref: SeriesRef) -> None:
        """Record that ``ref``'s bars changed."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(_EPOCH_KEY, secrets.token_hex(8), nx=True)
            pipe.incr(_key(ref))
            await pipe.execute()

    async def bump_many(self, refs: Iterable[SeriesRef]) -> None:
        """Record that the bars of every one of ``refs`` changed (one round trip)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(_EPOCH_KEY, secrets.token_hex(8), nx=True)
            for ref in refs:
                pipe.incr(_key(ref))
            await pipe.execute()
