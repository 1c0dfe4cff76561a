"""A per-key request budget: requests per rolling minute, and a shared pause after a ``Retry-After``.

Free Polygon plans allow 5 requests a minute. A token bucket refilled at ``rpm / 60`` per second
would let ``rpm`` requests through at once and then one every ``60 / rpm`` s, i.e. up to
``2 * rpm - 1`` within some 60 s span, which the provider counts as too many. This budget keeps
the start times of the last ``rpm`` requests instead and lets a request start only when fewer
than ``rpm`` started within the past 60 s, so no rolling minute ever holds more.

Example:
    >>> import asyncio
    >>> budget = RequestBudget(per_minute=0)  # unlimited: never waits
    >>> asyncio.run(budget.acquire())
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Awaitable, Callable
from typing import Final

WINDOW_S: Final = 60.0


class RequestBudget:
    """Admits requests so that at most ``per_minute`` start in any 60 s, and none during a pause.

    Args:
        per_minute: Requests allowed per rolling minute; 0 means unlimited.
        clock: Monotonic seconds (injectable for tests).
        sleep: Awaitable sleep (injectable for tests).
    """

    def __init__(
        self,
        per_minute: int = 0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """Create a budget with nothing spent."""
        if per_minute < 0:
            raise ValueError("per_minute must be 0 (unlimited) or more")
        self.per_minute = per_minute
        self._clock = clock
        self._sleep = sleep
        self._starts: collections.deque[float] = collections.deque()
        self._paused_until = 0.0

    def delay(self) -> float:
        """Seconds until a request may start (0 when it may start now)."""
        now = self._clock()
        wait = self._paused_until - now
        if self.per_minute:
            while self._starts and self._starts[0] <= now - WINDOW_S:
                self._starts.popleft()
            if len(self._starts) >= self.per_minute:
                wait = max(wait, self._starts[0] + WINDOW_S - now)
        return max(0.0, wait)

    async def acquire(self) -> None:
        """Wait until a request may start, and count it as started."""
        while (wait := self.delay()) > 0:
            await self._sleep(wait)
        if self.per_minute:  # no await since delay() said 0: nobody else took the slot
            self._starts.append(self._clock())

    def pause(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` (the provider said ``Retry-After``)."""
        self._paused_until = max(self._paused_until, self._clock() + max(0.0, seconds))
