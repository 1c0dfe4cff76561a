"""The bounded pool that blocking request work runs in, and the admission that keeps it bounded.

A chart request blocks in three places: its ClickHouse queries (which run on the store's own
executor), the indicator arithmetic (TA-Lib) and the encoding of its answer (Arrow or JSON). The
last two run in this pool's threads, never on the event loop, so ``/health``, sign-ins and
WebSocket pings keep answering while charts are computed.

Heavy requests are admitted first: at most ``slots`` run at once and at most ``queue`` more wait
for a slot; past that a request is refused at once with :class:`Overloaded` (HTTP 503 with
``Retry-After``) instead of piling up until every client times out.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Final, ParamSpec, TypeVar

from pipelines.errors import PipelineError

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_SLOTS: Final = 4
"""Heavy requests running at once: two cores, and each spends part of its time waiting on a store."""
DEFAULT_QUEUE: Final = 32
"""Heavy requests waiting for a slot before more are refused."""
DEFAULT_THREADS: Final = 2
"""Threads for the blocking steps (one per core: the steps are CPU-bound)."""
RETRY_AFTER_S: Final = 1


class Overloaded(PipelineError):
    """Every slot is taken and the queue is full: try again shortly."""

    def __init__(self, message: str, retry_after: int = RETRY_AFTER_S) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class WorkPool:
    """Admits heavy requests (``slots`` running, ``queue`` waiting) and runs their blocking steps.

    Args:
        slots: Heavy requests that may run at once.
        queue: Heavy requests that may wait for a slot; one more is refused.
        threads: Threads that run the blocking steps.
    """

    def __init__(
        self, slots: int = DEFAULT_SLOTS, queue: int = DEFAULT_QUEUE, threads: int = DEFAULT_THREADS
    ) -> None:
        if slots < 1 or queue < 0 or threads < 1:
            raise ValueError("a work pool needs at least one slot and one thread, and a queue of 0 or more")
        self.slots = slots
        self.queue = queue
        self._free = asyncio.Semaphore(slots)
        self._waiting = 0
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="work")

    @property
    def waiting(self) -> int:
        """Requests waiting for a slot now."""
        return self._waiting

    @contextlib.asynccontextmanager
    async def admit(self) -> AsyncIterator[None]:
        """Hold a slot for the duration of the block, waiting in the queue for one if need be.

        Raises:
            Overloaded: every slot is taken and ``queue`` requests already wait.
        """
        if self._free.locked() and self._waiting >= self.queue:
            raise Overloaded(
                f"the server is busy ({self.slots} heavy requests running, {self._waiting} waiting);"
                f" try again in {RETRY_AFTER_S} s"
            )
        self._waiting += 1
        try:
            await self._free.acquire()
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._free.release()

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(*args, **kwargs)`` in the pool's threads, off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        """Stop the threads once the work they hold is done."""
        self._executor.shutdown(wait=True)
