"""Live feeds this process runs: the synthetic demo feed of ``k2q up``, and Polygon streams for sockets.

:class:`LiveRunner` keeps one feed recording: it restarts the feed after a failure (the feed then
fills the gap from the last stored bar, so nothing is lost) and stops for good on a refused key or
a request that cannot be served. :class:`ServerStreams` runs one Polygon stream for the union of
the symbols WebSocket clients ask for (what ``k2q stream`` does when a server holds the data
directory); each lease ends with its socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Final

import structlog

from api.demo import DEMO_SYMBOLS
from api.runtime import Runtime
from pipelines.errors import PipelineClientError, SourceAuthError, SourceUnavailable, UnsupportedRequest
from pipelines.ingest.live import LiveRecorder
from pipelines.ingest.sources.feeds import LiveBars, LiveFeed
from pipelines.ingest.sources.polygon_rest import PolygonRestSource
from pipelines.ingest.sources.polygon_ws import PolygonStream
from pipelines.ingest.sources.synthetic_live import SyntheticFeed
from schemas.values import SourceName

LIVE_DEMO_TASK: Final = "live-demo"
"""Name of the task that runs the synthetic demo feed under ``k2q up``."""
RETRY_S: Final = 5.0
"""Pause before a failed feed is started again."""
CONNECT_TIMEOUT_S: Final = 20.0
"""Longest a lease waits for the Polygon stream to connect."""

log = structlog.get_logger(__name__)


def recorder_for(runtime: Runtime, source: SourceName) -> LiveRecorder:
    """A :class:`LiveRecorder` over the runtime's stores."""
    services = runtime.services
    return LiveRecorder(
        services.bars,
        services.catalog,
        services.versions,
        services.publisher,
        source=source,
        writer=services.writer,
        indicators=services.indicators,
    )


class LiveRunner:
    """Records one live feed until stopped, starting it again after failures.

    Args:
        make_feed: Builds the feed (again after each failure).
        recorder: Stores what the feed delivers.
        retry_s: Pause before starting again.
    """

    def __init__(
        self, make_feed: Callable[[], LiveFeed], recorder: LiveRecorder, retry_s: float = RETRY_S
    ) -> None:
        """Configure the runner; :meth:`start` runs it."""
        self.make_feed = make_feed
        self.recorder = recorder
        self.retry_s = retry_s
        self.feed: LiveFeed | None = None
        self.error: Exception | None = None
        """Why the runner stopped for good, if it did."""
        self.task: asyncio.Task[None] | None = None

    async def start(self, name: str, *, prime: bool = False) -> asyncio.Task[None]:
        """Prepare the datasets and start recording in a task named ``name``.

        With ``prime``, the feed's first batch (the catch-up since the last stored bars) is
        recorded before this returns, so the datasets are current when the caller goes on.

        Raises:
            LiveSourceConflict: a symbol's minute bars are stored, or being stored, from another source.
        """
        try:
            feed = self.feed = self.make_feed()
            updates = feed.updates(await self.recorder.prepare(feed.symbols))
            if prime:
                await self.recorder.record(await anext(updates))
        except BaseException:
            with contextlib.suppress(Exception):
                await self.recorder.close()
            raise
        self.task = asyncio.create_task(self._run(updates), name=name)
        return self.task

    async def stop(self) -> None:
        """Stop recording (and wait for the task to end); the recorder's claims are dropped."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None

    async def _run(self, updates: AsyncIterator[list[LiveBars]]) -> None:
        try:
            await self._record(updates)
        finally:
            with contextlib.suppress(Exception):
                await self.recorder.close()

    async def _record(self, updates: AsyncIterator[list[LiveBars]]) -> None:
        while True:
            try:
                async for batch in updates:
                    await self.recorder.record(batch)
                return
            except (SourceAuthError, PipelineClientError) as exc:
                self.error = exc
                log.error("live feed stopped", error=str(exc))
                return
            except Exception as exc:  # a store or network failure: start again from the stored bars
                log.warning("live feed failed; starting again", error=str(exc), retry_s=self.retry_s)
            finally:
                with contextlib.suppress(Exception):
                    await updates.aclose()  # type: ignore[attr-defined]
            await asyncio.sleep(self.retry_s)
            try:
                feed = self.feed = self.make_feed()
                updates = feed.updates(await self.recorder.prepare(feed.symbols))
            except PipelineClientError as exc:
                self.error = exc
                log.error("live feed stopped", error=str(exc))
                return


async def start_live_demo(runtime: Runtime, tick_s: float = 2.0) -> LiveRunner:
    """Start the synthetic live feed of the demo symbols, its catch-up recorded before this returns."""
    runner = LiveRunner(
        lambda: SyntheticFeed(DEMO_SYMBOLS, tick_s=tick_s), recorder_for(runtime, "synthetic")
    )
    await runner.start(LIVE_DEMO_TASK, prime=True)
    log.info("synthetic live feed started", symbols=list(DEMO_SYMBOLS), tick_s=tick_s)
    return runner


class ServerStreams:
    """One Polygon stream in this process for every symbol WebSocket clients asked to stream."""

    def __init__(self, runtime: Runtime) -> None:
        """Nothing streams until the first lease."""
        self.runtime = runtime
        self._leases: dict[int, frozenset[str]] = {}
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self._runner: LiveRunner | None = None

    @property
    def symbols(self) -> list[str]:
        """Every symbol streamed now."""
        return sorted(set().union(*self._leases.values())) if self._leases else []

    async def lease(self, symbols: Sequence[str]) -> int:
        """Stream ``symbols`` (too) until the lease is released; return its id.

        Raises:
            UnsupportedRequest: no Polygon key is configured.
            SourceAuthError: Polygon refused the key.
            LiveSourceConflict: a symbol's minute bars are stored, or being stored, from another source.
            SourceUnavailable: the stream did not connect in time.
        """
        if not self.runtime.settings.polygon.api_key:
            raise UnsupportedRequest("the server has no Polygon key: set POLYGON_API_KEY where it runs")
        async with self._lock:
            lease = next(self._ids)
            self._leases[lease] = frozenset(symbols)
            try:
                await self._restart()
            except BaseException:
                del self._leases[lease]
                with contextlib.suppress(Exception):
                    await self._restart()
                raise
            return lease

    async def release(self, lease: int) -> None:
        """End a lease; the stream goes on for the symbols other leases hold."""
        async with self._lock:
            if self._leases.pop(lease, None) is None:
                return
            with contextlib.suppress(Exception):
                await self._restart()

    async def stop(self) -> None:
        """Stop streaming (app shutdown)."""
        async with self._lock:
            self._leases.clear()
            if self._runner is not None:
                await self._runner.stop()
                self._runner = None

    async def _restart(self) -> None:
        """Run one stream for the union of the leases (reconnecting costs nothing: gaps are backfilled)."""
        if self._runner is not None:
            await self._runner.stop()
            self._runner = None
        symbols = self.symbols
        if not symbols:
            return
        settings = self.runtime.settings.polygon
        assert settings.api_key is not None
        rest = self.runtime.sources.get("polygon")

        def status(line: str) -> None:
            log.info("polygon stream", status=line)

        def make_feed() -> LiveFeed:
            return PolygonStream(
                settings.api_key or "",
                symbols,
                url=settings.ws_url,
                rest=rest if isinstance(rest, PolygonRestSource) else None,
                on_status=status,
            )

        runner = LiveRunner(make_feed, recorder_for(self.runtime, "polygon"))
        task = await runner.start("polygon-stream")  # a source conflict fails the lease here, in words
        assert isinstance(runner.feed, PolygonStream)
        waiter = asyncio.ensure_future(runner.feed.connected.wait())
        try:
            await asyncio.wait([waiter, task], timeout=CONNECT_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if runner.error is not None:
            raise runner.error
        if not runner.feed.connected.is_set():
            await runner.stop()
            raise SourceUnavailable(
                f"the Polygon stream did not connect within {CONNECT_TIMEOUT_S:.0f} s", source="polygon"
            )
        self._runner = runner
