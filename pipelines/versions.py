"""Series versions: a token that changes whenever a series' bars change, for ETags and caches.

Kept in Redis. Losing Redis loses nothing: a fresh random epoch starts new versions, so no
token from before the loss can match again.
"""

from __future__ import annotations

import secrets

from redis.asyncio import Redis

from warehouse.clickhouse.bars import SeriesRef

_EPOCH_KEY = "k2q:series-version-epoch"


def _key(ref: SeriesRef) -> str:
    return f"k2q:series-version:{ref.symbol}:{ref.series}:{int(ref.adjusted)}"


class SeriesVersions:
    """Per-series change counters."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def _epoch(self) -> str:
        await self.redis.set(_EPOCH_KEY, secrets.token_hex(8), nx=True)
        epoch = await self.redis.get(_EPOCH_KEY)
        return epoch.decode() if isinstance(epoch, bytes) else str(epoch)

    async def get(self, ref: SeriesRef) -> str:
        """The current version of ``ref``."""
        epoch = await self._epoch()
        count = await self.redis.get(_key(ref))
        return f"{epoch}.{int(count or 0)}"

    async def bump(self, ref: SeriesRef) -> None:
        """Record that ``ref``'s bars changed."""
        await self._epoch()
        await self.redis.incr(_key(ref))
