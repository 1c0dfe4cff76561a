"""Polygon (Massive) aggregates over REST: windowed, concurrent, retried, decoded straight to Arrow.

A request's date range is split into windows that each stay under the API's per-request limit of
*base* aggregates (minute bars for minute and hour requests), the windows are fetched concurrently
under one bound per source (so per API key: every window, symbol and job in the process shares it),
every ``next_url`` page is followed with the key and ``adjusted`` re-sent, and each page is decoded
by msgspec into typed Structs and turned into one Arrow batch. An optional requests-per-minute
budget keeps free plans under their limit, and a ``Retry-After`` holds every request back, not
only the one that was told. The grouped-daily endpoint serves a whole market's day in one request.

Example:
    >>> from schemas.bars import SeriesKey
    >>> key = SeriesKey(symbol="AAPL", multiplier=1, timespan="minute")
    >>> request = SeriesRequest(key=key, start=dt.date(2024, 1, 2), end=dt.date(2024, 3, 28))
    >>> async with PolygonRestSource(api_key) as source:  # doctest: +SKIP
    ...     async for batch in source.fetch(request):
    ...         store.insert(batch)
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.utils
import logging
import random
import re
from typing import TYPE_CHECKING, Final, Self, TypeAlias
from urllib.parse import quote

import httpx
import msgspec
import pyarrow as pa
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_base

from pipelines.errors import (
    SourceAuthError,
    SourceError,
    SourceProtocolError,
    SourceRateLimited,
    SourceUnavailable,
    UnsupportedRequest,
)
from pipelines.exchange_calendar import trading_days
from pipelines.ingest.sources.polygon_pages import (
    AGG_JSON,
    DECODERS,
    ERROR_DECODER,
    GROUPED_DECODER,
    GROUPED_JSON,
    MARKET_SCHEMA,
    PAGE_DECODER,
    AggsPage,
    GroupedPage,
    Page,
    read_rows,
    rows_of,
    split_results,
    to_bars,
    to_market_table,
)
from pipelines.ingest.sources.request_budget import RequestBudget
from schemas.bars import SeriesRequest

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from types import TracebackType

    from pipelines.ingest.sources.base import Window, WindowProgress
    from schemas.values import SourceName, Timespan

__all__ = ["MARKET_SCHEMA", "PolygonRestSource", "plan_windows"]

_log = logging.getLogger(__name__)

MAX_PAGE_LIMIT: Final = 50_000
_QUEUE_DEPTH: Final = 16
_SNIPPET_CHARS: Final = 160
_OK_STATUSES: Final = frozenset({"OK", "DELAYED"})
_ROUND_THE_CLOCK: Final = ("X:", "C:")  # crypto and forex tickers trade 24 hours a day

# Base aggregates per calendar day: US equities trade ~04:00-20:00 ET (960 minutes) incl. extended hours;
# day and wider bars are built from one day aggregate per day.
_BASE_PER_DAY: Final[dict[Timespan, int]] = {"second": 16 * 3600, "minute": 16 * 60, "hour": 16 * 60}


class _Transient(Exception):
    """A failure worth retrying; ``kind`` is the public error raised once retries run out."""

    def __init__(
        self, kind: type[SourceError], message: str, *, status: int | None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after


class _Backoff(wait_base):
    """Exponential backoff with jitter; a ``Retry-After`` on the failure takes precedence."""

    def __init__(self, base_s: float, cap_s: float) -> None:
        self.base_s = base_s
        self.cap_s = cap_s

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        failure = outcome.exception() if outcome is not None else None
        if isinstance(failure, _Transient) and failure.retry_after is not None:
            # Up to 10% extra so that windows told the same Retry-After do not return in lockstep.
            return min(self.cap_s, failure.retry_after * random.uniform(1.0, 1.1))  # noqa: S311 (jitter, not secrecy)
        ceiling = min(self.cap_s, self.base_s * 2.0 ** (retry_state.attempt_number - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311


_Item: TypeAlias = "pa.RecordBatch | int | BaseException"
"""What window tasks hand the consumer: a page, the bar count of a finished window, or their failure."""


def plan_windows(request: SeriesRequest, page_limit: int = MAX_PAGE_LIMIT) -> list[tuple[dt.date, dt.date]]:
    """Split a request's inclusive date range into windows of at most ``page_limit`` base aggregates.

    Args:
        request: The series and inclusive range of exchange dates.
        page_limit: The ``limit`` sent with each request (counts base aggregates).

    Returns:
        Contiguous, non-overlapping ``(first, last)`` date pairs, both inclusive, in order.

    Raises:
        UnsupportedRequest: The range is reversed or the multiplier is not positive.

    >>> from schemas.bars import SeriesKey
    >>> key = SeriesKey(symbol="AAPL", multiplier=1, timespan="minute")
    >>> len(plan_windows(SeriesRequest(key=key, start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31))))
    8
    """
    key = request.key
    if request.start > request.end:
        raise UnsupportedRequest(f"range starts after it ends: {request.start} > {request.end}")
    if key.multiplier < 1:
        raise UnsupportedRequest(f"multiplier must be at least 1, got {key.multiplier}")
    per_day = _BASE_PER_DAY.get(key.timespan, 1)
    if per_day > 1 and key.symbol.startswith(_ROUND_THE_CLOCK):
        per_day = per_day * 24 // 16
    span = dt.timedelta(days=max(1, (page_limit - 1) // per_day))
    one = dt.timedelta(days=1)
    windows: list[tuple[dt.date, dt.date]] = []
    first = request.start
    while first <= request.end:
        last = min(request.end, first + span - one)
        windows.append((first, last))
        first = last + one
    return windows


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asked us to wait, from ``Retry-After`` (delta-seconds or an HTTP date)."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


class PolygonRestSource:
    """Bars from Polygon's ``/v2/aggs`` endpoints, one :class:`pyarrow.RecordBatch` per page.

    Args:
        api_key: The Polygon key; sent only as an ``Authorization: Bearer`` header, never logged.
        base_url: The API host (``https://api.polygon.io`` or ``https://api.massive.com``).
        client: An ``httpx.AsyncClient`` to use (and not close); one is built when omitted.
        max_in_flight: Most requests in flight at once, across every fetch through this source.
        requests_per_minute: Most requests started in any rolling minute (0: unlimited).
        page_limit: ``limit`` per request in base aggregates (at most 50,000).
        max_attempts: Attempts per page before a transient failure becomes an error.
        max_backoff_s: Longest wait between attempts, also the cap on ``Retry-After``.
        timeout_s: Timeout of the client built here.
        backoff_base_s: First backoff step; it doubles per attempt.
    """

    name: SourceName = "polygon"

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = "https://api.polygon.io",
        client: httpx.AsyncClient | None = None,
        max_in_flight: int = 50,
        requests_per_minute: int = 0,
        page_limit: int = MAX_PAGE_LIMIT,
        max_attempts: int = 5,
        max_backoff_s: float = 30.0,
        timeout_s: float = 30.0,
        backoff_base_s: float = 0.5,
    ) -> None:
        """Configure the source; nothing connects until the first fetch."""
        if not api_key:
            raise ValueError("a Polygon API key is required")
        if max_in_flight < 1 or max_attempts < 1 or not 1 <= page_limit <= MAX_PAGE_LIMIT:
            raise ValueError("max_in_flight and max_attempts must be >= 1, page_limit within 1..50000")
        self._api_key = api_key
        self._base = httpx.URL(base_url.rstrip("/"))
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(
            timeout=timeout_s,
            headers={"User-Agent": "k2-quant"},
            limits=httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight),
        )
        self._headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        self._max_in_flight = max_in_flight
        self._page_limit = page_limit
        self._max_attempts = max_attempts
        self._wait = _Backoff(backoff_base_s, max_backoff_s)
        self._max_backoff_s = max_backoff_s
        self.budget = RequestBudget(requests_per_minute)
        self._slots: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Semaphore]] = {}

    @property
    def concurrency(self) -> int:
        """Windows a fetch may run at once: as many as requests may be in flight."""
        return self._max_in_flight

    async def __aenter__(self) -> Self:
        """Enter an ``async with`` block; the source closes its own client on exit."""
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the client if this source built it."""
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this source built it; an injected client is left open."""
        if self._owns_client:
            await self._client.aclose()

    def plan(self, request: SeriesRequest) -> list[Window]:
        """The windows of ``request`` (see :func:`plan_windows`)."""
        return plan_windows(request, self._page_limit)

    def plan_market(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """The NYSE trading days of ``[start, end]``: the grouped-daily endpoint is empty on others."""
        return [day.item() for day in trading_days(start, end)]

    async def fetch(
        self, request: SeriesRequest, progress: WindowProgress | None = None
    ) -> AsyncIterator[pa.RecordBatch]:
        """Yield the bars of ``request`` as batches of :data:`BAR_ARROW_SCHEMA`, one per page.

        Windows run concurrently, so batches arrive in no particular order; an empty range yields
        nothing. The first failure cancels the other windows and is raised here (the fetch path
        runs windows itself, through :meth:`fetch_window`, to let the others finish).

        Args:
            request: The series and inclusive range of exchange dates.
            progress: Called as ``progress(windows_done, windows_total, bars_so_far)``.

        Yields:
            One record batch per non-empty page.

        Raises:
            SourceAuthError: The key is unknown (401) or not entitled (403).
            SourceRateLimited: 429 persisted through every attempt.
            SourceUnavailable: 5xx, timeouts or connection errors persisted.
            SourceProtocolError: The answers kept not being the documented format.
            UnsupportedRequest: The request is malformed or Polygon rejected it (400, 404, 422).
        """
        windows = self.plan(request)
        queue: asyncio.Queue[_Item] = asyncio.Queue(_QUEUE_DEPTH)

        async def run(window: Window) -> None:
            try:
                rows = 0
                async for batch in self.fetch_window(request, window):
                    rows += batch.num_rows
                    await queue.put(batch)
                await queue.put(rows)
            except Exception as exc:
                await queue.put(exc)  # the consumer raises it; re-raised for gather() below
                raise

        tasks = [asyncio.create_task(run(window)) for window in windows]
        done = bars = 0
        try:
            while done < len(windows):
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                if isinstance(item, int):
                    done += 1
                    if progress is not None:
                        progress(done, len(windows), bars)
                    continue
                bars += item.num_rows
                yield item
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def fetch_window(self, request: SeriesRequest, window: Window) -> AsyncIterator[pa.RecordBatch]:
        """Yield every page of one window, following ``next_url``, as batches of :data:`BAR_ARROW_SCHEMA`.

        Raises:
            SourceError: as :meth:`fetch` does.
        """
        key = request.key
        first, last = window
        adjusted = "true" if key.adjusted else "false"
        ticker = quote(key.symbol, safe="")
        path = f"/v2/aggs/ticker/{ticker}/range/{key.multiplier}/{key.timespan}/{first}/{last}"
        url = self._url(path).copy_merge_params(
            {"adjusted": adjusted, "sort": "asc", "limit": str(self._page_limit)}
        )
        while True:
            page = await self._get_page(url)
            if page.rows.num_rows:
                yield to_bars(page.rows).combine_chunks().to_batches()[0]
            if not page.next_url:
                return
            following = self._follow(page.next_url, adjusted)
            if following == url:
                raise SourceProtocolError("next_url points at the page just read", source=self.name)
            url = following

    async def fetch_market_day(self, day: dt.date, adjusted: bool) -> pa.Table:
        """Every US stock's bar of ``day`` from the grouped-daily endpoint, as :data:`MARKET_SCHEMA`.

        Raises:
            SourceError: as :meth:`fetch` does.
        """
        url = self._url(f"/v2/aggs/grouped/locale/us/market/stocks/{day.isoformat()}").copy_merge_params(
            {"adjusted": "true" if adjusted else "false"}
        )
        page = await self._get_page(url, grouped=True)
        return to_market_table(day, page.rows)

    def _url(self, path: str) -> httpx.URL:
        return self._base.copy_with(raw_path=self._base.raw_path.rstrip(b"/") + path.encode())

    def _follow(self, next_url: str, adjusted: str) -> httpx.URL:
        """The next page's URL with ``adjusted`` kept, on our own origin (the key goes nowhere else)."""
        try:
            target = httpx.URL(next_url)
        except httpx.InvalidURL:
            raise SourceProtocolError(
                f"next_url is not a URL: {self._redact(next_url)[:80]}", source=self.name
            ) from None
        if (target.scheme, target.host, target.port) != (self._base.scheme, self._base.host, self._base.port):
            # A cursor on another host (e.g. after the Massive rebrand) is read from ours.
            target = self._base.copy_with(raw_path=target.raw_path)
        return target.copy_set_param("adjusted", adjusted)

    async def _get_page(self, url: httpx.URL, *, grouped: bool = False) -> Page:
        """GET one page, retrying transient failures; raise the public error once attempts run out."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            before_sleep=_log_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._get_once(url, grouped=grouped)
        except _Transient as exc:
            tries = f"{self._max_attempts} attempt{'s' if self._max_attempts > 1 else ''}"
            raise exc.kind(f"{exc.message} (after {tries})", source=self.name, status=exc.status) from None
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    def _bound(self, name: str, size: int) -> asyncio.Semaphore:
        """The semaphore ``name``, made in (and kept for) the running event loop."""
        loop = asyncio.get_running_loop()
        held = self._slots.get(name)
        if held is None or held[0] is not loop:
            held = self._slots[name] = (loop, asyncio.Semaphore(size))
        return held[1]

    async def _get_once(self, url: httpx.URL, *, grouped: bool = False) -> Page:
        """One GET of one page, its status mapped to a page, a :class:`_Transient` or a public error."""
        async with self._bound("in flight", self._max_in_flight):
            await self.budget.acquire()
            try:
                response = await self._client.get(url, headers=self._headers)
            except httpx.TimeoutException as exc:
                raise _Transient(
                    SourceUnavailable, f"polygon timed out ({type(exc).__name__})", status=None
                ) from None
            except httpx.TransportError as exc:
                detail = self._redact(f"{type(exc).__name__}: {exc}")
                raise _Transient(SourceUnavailable, f"polygon unreachable ({detail})", status=None) from None
        status, body = response.status_code, response.content
        if status == 200:
            # Parsing runs in a thread: Arrow's JSON reader releases the GIL, so pages decode while
            # the event loop reads the next ones. Pages wait for one of a few decoders, one per core.
            async with self._bound("decoding", DECODERS):
                return await asyncio.to_thread(self._decode, body, grouped=grouped)
        reason = self._reason(body)
        message = f"polygon answered HTTP {status}: {reason}"
        if status in (401, 403):
            raise SourceAuthError(message, source=self.name, status=status)
        if status == 429:
            retry_after = _retry_after(response)
            if retry_after is not None:  # everybody waits, not only this request
                self.budget.pause(min(retry_after, self._max_backoff_s))
            raise _Transient(SourceRateLimited, message, status=status, retry_after=retry_after)
        if status >= 500 or status == 408:
            raise _Transient(SourceUnavailable, message, status=status)
        if status in (400, 404, 422):
            raise UnsupportedRequest(message)
        raise SourceError(message, source=self.name, status=status)

    def _decode(self, body: bytes, *, grouped: bool) -> Page:
        """Decode a 200 body; anything but the documented shape is a (retried) protocol failure.

        The ``results`` array goes to Arrow's JSON reader and the small rest to msgspec; a body
        that path cannot take is decoded whole by msgspec, which also says what is wrong with it.
        """
        schema = GROUPED_JSON if grouped else AGG_JSON
        decoder: msgspec.json.Decoder[AggsPage] | msgspec.json.Decoder[GroupedPage] = (
            GROUPED_DECODER if grouped else PAGE_DECODER
        )
        split = split_results(body)
        page: AggsPage | GroupedPage | None = None
        rows: pa.Table | None = None
        if split is not None:
            with contextlib.suppress(msgspec.DecodeError):
                page = decoder.decode(split[0])
                rows = read_rows(split[1], schema)
        if page is None or rows is None:
            try:
                page = decoder.decode(body)
            except msgspec.DecodeError as exc:
                kind = "grouped-daily" if grouped else "aggregates"
                message = f"polygon sent a body that is not the {kind} format ({exc}): {self._snippet(body)}"
                raise _Transient(SourceProtocolError, message, status=200) from None
            try:
                rows = rows_of(page.results, schema)
            except (OverflowError, pa.ArrowInvalid) as exc:
                message = f"polygon sent values out of range ({exc}): {self._snippet(body)}"
                raise _Transient(SourceProtocolError, message, status=200) from None
        if page.status not in _OK_STATUSES:
            message = f"polygon sent status {self._redact(page.status)!r} on HTTP 200: {self._snippet(body)}"
            raise _Transient(SourceProtocolError, message, status=200)
        if page.results_count and not rows.num_rows:
            message = f"polygon counted {page.results_count} results but attached none"
            raise _Transient(SourceProtocolError, message, status=200)
        try:
            rows.column("n").cast(pa.uint32())
        except pa.ArrowInvalid:
            message = f"polygon sent a transaction count out of range: {self._snippet(body)}"
            raise _Transient(SourceProtocolError, message, status=200) from None
        return Page(rows=rows, next_url=page.next_url if isinstance(page, AggsPage) else None)

    def _reason(self, body: bytes) -> str:
        """The provider's reason from an error body, else a short snippet of the body."""
        try:
            error = ERROR_DECODER.decode(body)
        except msgspec.DecodeError:
            return self._snippet(body)
        text = error.error or error.message or error.status
        return self._redact(text) if text else self._snippet(body)

    def _snippet(self, body: bytes) -> str:
        """A short, single-line, tag-free excerpt of a body for error messages."""
        text = body[: _SNIPPET_CHARS * 8].decode("utf-8", "replace")
        text = " ".join(re.sub(r"<[^>]*>", " ", text).split())
        text = self._redact(text)
        return repr(text[:_SNIPPET_CHARS] + ("…" if len(text) > _SNIPPET_CHARS else ""))

    def _redact(self, text: str) -> str:
        """``text`` with the API key masked (servers and URLs can echo it)."""
        return text.replace(self._api_key, "***")


def _log_retry(state: RetryCallState) -> None:
    """Log a retry; messages are built without the key."""
    outcome = state.outcome
    failure = outcome.exception() if outcome is not None else None
    wait = state.next_action.sleep if state.next_action is not None else 0.0
    _log.info("polygon: %s; attempt %d, retrying in %.2fs", failure, state.attempt_number, wait)
