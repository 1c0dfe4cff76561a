"""Polygon (Massive) stocks WebSocket: per-minute aggregates (``AM``) as Arrow batches, never a gap.

The protocol: connect to ``wss://socket.polygon.io/stocks`` (``wss://delayed.polygon.io/stocks``
for the 15-minute delayed feed), read the ``connected`` status, send
``{"action":"auth","params":KEY}`` and expect ``auth_success``, then
``{"action":"subscribe","params":"AM.AAPL,AM.MSFT"}``. Every message is a JSON array of events;
an ``AM`` event is one closed minute of one ticker::

    {"ev": "AM", "sym": "AAPL", "v": 4110, "av": 9470157, "op": 189.3, "vw": 189.4112,
     "o": 189.41, "c": 189.42, "h": 189.43, "l": 189.40, "a": 189.7, "z": 685,
     "s": 1710250200000, "e": 1710250260000}

(``v`` the minute's volume, ``av`` the day's, ``op`` the official open, ``vw`` the minute's VWAP,
``a`` the day's VWAP, ``z`` the average trade size, ``s``/``e`` the window in Unix ms.)

A dropped connection is opened again with exponential backoff and jitter; the minutes missed
while disconnected are then fetched over REST (from the last bar seen of each symbol to now)
before streaming resumes. A refused key ends the stream at once with :class:`SourceAuthError`.
The key is sent only in the ``auth`` message and never appears in logs or errors.

Example:
    >>> stream = PolygonStream(key, ["AAPL", "MSFT"], rest=PolygonRestSource(key))  # doctest: +SKIP
    >>> async for batch in stream.updates({}):  # doctest: +SKIP
    ...     for item in batch:
    ...         print(item.symbol, item.bars.num_rows)
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, Final

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt, stop_never
from tenacity.wait import wait_base
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from pipelines.errors import PipelineError, SourceAuthError, SourceProtocolError, SourceUnavailable
from pipelines.ingest.sources.feeds import MINUTE_MS, LiveBars, bars_batch, minute_floor
from pipelines.ingest.sources.polygon_rest import PolygonRestSource
from schemas.bars import SeriesKey, SeriesRequest
from schemas.values import NEW_YORK, SourceName

__all__ = ["DEFAULT_WS_URL", "DELAYED_WS_URL", "PolygonStream", "decode_message"]

DEFAULT_WS_URL: Final = "wss://socket.polygon.io/stocks"
DELAYED_WS_URL: Final = "wss://delayed.polygon.io/stocks"

_log = logging.getLogger(__name__)


class _Status(msgspec.Struct, tag="status", tag_field="ev"):
    """A status event: ``connected``, ``auth_success``, ``auth_failed``, ``success``, ``error``."""

    status: str
    message: str = ""


class _Minute(msgspec.Struct, tag="AM", tag_field="ev", gc=False):
    """One ``AM`` event (``l`` renamed: ruff rejects the name)."""

    sym: str
    o: float
    h: float
    low: float = msgspec.field(name="l")
    c: float
    v: float
    s: int
    e: int
    vw: float | None = None
    av: float | None = None
    op: float | None = None
    a: float | None = None
    z: float | None = None
    otc: bool | None = None


_Event = _Status | _Minute
_MESSAGE: Final = msgspec.json.Decoder(list[_Event])


class _Dropped(Exception):
    """The connection failed or closed in a way worth another attempt."""


def decode_message(data: str | bytes) -> tuple[list[_Status], list[_Minute]]:
    """Split one WebSocket message into its status and ``AM`` events; others are skipped.

    Raises:
        SourceProtocolError: the message is not a JSON array (or object) of events.
    """
    try:
        events = _MESSAGE.decode(data)
    except msgspec.ValidationError:  # an event we did not ask for, or a lone object: keep what we know
        raw: Any = msgspec.json.decode(data)
        events = []
        for item in raw if isinstance(raw, list) else [raw]:
            with contextlib.suppress(msgspec.ValidationError):
                events.append(msgspec.convert(item, _Event))
    except msgspec.DecodeError as exc:
        raise SourceProtocolError(
            f"polygon sent a message that is not JSON: {exc}", source="polygon"
        ) from None
    statuses = [event for event in events if isinstance(event, _Status)]
    minutes = [event for event in events if isinstance(event, _Minute)]
    return statuses, minutes


def _to_live_bars(minutes: Sequence[_Minute]) -> list[LiveBars]:
    """Group ``AM`` events by ticker into batches, ``ts`` ascending."""
    by_symbol: dict[str, list[_Minute]] = {}
    for minute in minutes:
        by_symbol.setdefault(minute.sym.upper(), []).append(minute)
    out = []
    for symbol, items in by_symbol.items():
        items.sort(key=lambda m: m.s)
        batch = bars_batch(
            [m.s for m in items],
            [m.o for m in items],
            [m.h for m in items],
            [m.low for m in items],
            [m.c for m in items],
            [m.v for m in items],
            [m.vw for m in items],
            [None] * len(items),  # AM events carry no trade count
        )
        out.append(LiveBars(symbol=symbol, bars=batch))
    return out


class _Jitter(wait_base):
    """Exponential backoff with jitter: half the step fixed, half random."""

    def __init__(self, base_s: float, cap_s: float) -> None:
        self.base_s = base_s
        self.cap_s = cap_s

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt + 1``."""
        ceiling = min(self.cap_s, self.base_s * 2.0 ** max(0, attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 (jitter, not secrecy)

    def __call__(self, retry_state: RetryCallState) -> float:
        return self.delay(retry_state.attempt_number)


class PolygonStream:
    """Closed minute bars of ``symbols`` from Polygon's stocks WebSocket, with gap backfill over REST.

    Args:
        api_key: The Polygon key (sent in the ``auth`` message only).
        symbols: Tickers to subscribe to (``AM.<ticker>`` each).
        url: The feed, e.g. :data:`DEFAULT_WS_URL` or :data:`DELAYED_WS_URL`.
        rest: Source for the minutes missed while disconnected; without it, gaps stay open.
        adjusted: Which series the REST backfill asks for (live minutes are the same either way).
        backoff_base_s: First reconnect delay; it doubles per failure in a row, with jitter.
        max_backoff_s: Longest reconnect delay.
        max_attempts: Failures in a row before giving up (``None``: never give up).
        handshake_timeout_s: Longest wait for each handshake answer.
        max_gap: Oldest minute a backfill goes back to.
        clock: The present (UTC); injectable for tests.
        on_status: Called with a line for each connection event (connected, dropped, backfilled …).
    """

    source: SourceName = "polygon"

    def __init__(
        self,
        api_key: str,
        symbols: Sequence[str],
        *,
        url: str = DEFAULT_WS_URL,
        rest: PolygonRestSource | None = None,
        adjusted: bool = True,
        backoff_base_s: float = 1.0,
        max_backoff_s: float = 60.0,
        max_attempts: int | None = None,
        handshake_timeout_s: float = 10.0,
        max_gap: dt.timedelta = dt.timedelta(days=7),
        clock: Callable[[], dt.datetime] | None = None,
        on_status: Callable[[str], None] | None = None,
    ) -> None:
        """Configure the stream; nothing connects until :meth:`updates` is iterated."""
        if not api_key:
            raise ValueError("a Polygon API key is required")
        if not symbols:
            raise ValueError("name at least one symbol to stream")
        self._api_key = api_key
        self.symbols = sorted({symbol.upper() for symbol in symbols})
        self.url = url
        self._rest = rest
        self._adjusted = adjusted
        self._wait = _Jitter(backoff_base_s, max_backoff_s)
        self._max_attempts = max_attempts
        self._timeout = handshake_timeout_s
        self._max_gap = max_gap
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._on_status = on_status
        self.seen: dict[str, int] = {}
        """Start (epoch ms) of the newest bar delivered per symbol."""
        self.reconnects = 0
        """Connections opened after the first."""
        self.connected = asyncio.Event()
        """Set while a connection is authenticated and subscribed."""

    async def updates(self, since: Mapping[str, int | None]) -> AsyncIterator[list[LiveBars]]:
        """Yield each message's bars (and each backfill) until cancelled.

        Args:
            since: Per symbol, the last stored bar's start (epoch ms); the first connection
                backfills from there, within ``max_gap``.

        Raises:
            SourceAuthError: Polygon refused the key.
            SourceUnavailable: ``max_attempts`` failures in a row.
        """
        first = {s: t for s, t in since.items() if t is not None and s in self.symbols}
        pending = dict(first)
        baseline: int | None = None
        failures = 0
        while True:
            ws = await self._open(failures)
            if baseline is None:  # a bar of a minute from now on that the stream misses is a gap
                baseline = minute_floor(self._clock()) - 1
            else:
                self.reconnects += 1
            try:
                if pending:
                    backfilled = await self._backfill(pending)
                    if backfilled:
                        yield backfilled
                async for message in ws:
                    statuses, minutes = decode_message(message)
                    for status in statuses:
                        self._status(f"polygon: {status.status}: {self._redact(status.message)}")
                    bars = _to_live_bars(minutes)
                    if not bars:
                        continue
                    failures = 0
                    for item in bars:
                        last = int(pc.max(item.bars.column("ts")).cast(pa.int64()).as_py())
                        self.seen[item.symbol] = max(self.seen.get(item.symbol, last), last)
                    yield bars
                reason = f"closed by polygon ({ws.close_code} {self._redact(ws.close_reason or '')})".strip()
            except ConnectionClosed as exc:
                reason = f"connection lost ({self._redact(str(exc))})"
            except SourceProtocolError as exc:
                reason = str(exc)
            finally:
                self.connected.clear()
                await ws.close()
            failures += 1
            if self._max_attempts is not None and failures >= self._max_attempts:
                raise SourceUnavailable(
                    f"polygon stream gave up after {failures} failures: {reason}", source=self.source
                )
            delay = self._wait.delay(failures)
            self._status(f"polygon: {reason}; reconnecting in {delay:.1f} s")
            pending = {symbol: self.seen.get(symbol, first.get(symbol, baseline)) for symbol in self.symbols}
            await asyncio.sleep(delay)

    async def _open(self, failures: int) -> ClientConnection:
        """Connect, authenticate and subscribe, retrying transient failures with backoff."""
        remaining = None if self._max_attempts is None else max(1, self._max_attempts - failures)
        retrying = AsyncRetrying(
            stop=stop_never if remaining is None else stop_after_attempt(remaining),
            wait=self._wait,
            retry=retry_if_exception_type(_Dropped),
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._connect()
        except _Dropped as exc:
            raise SourceUnavailable(
                f"polygon stream unreachable after {remaining} attempts: {exc}", source=self.source
            ) from None
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    async def _connect(self) -> ClientConnection:
        try:
            ws = await connect(self.url, open_timeout=self._timeout, close_timeout=2, max_size=2**24)
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise SourceAuthError(
                    f"polygon refused the stream: HTTP {status}", source=self.source, status=status
                ) from None
            raise _Dropped(f"polygon answered HTTP {status}") from None
        except InvalidURI as exc:
            raise PipelineError(f"not a WebSocket URL: {exc.uri}") from None
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            raise _Dropped(self._redact(f"{type(exc).__name__}: {exc}")) from None
        try:
            await self._handshake(ws)
        except BaseException:
            await ws.close()
            raise
        self._status(f"polygon: connected to {self.url}, streaming {', '.join(self.symbols)}")
        self.connected.set()
        return ws

    async def _handshake(self, ws: ClientConnection) -> None:
        """``connected`` → auth → ``auth_success`` → subscribe."""
        await self._expect(ws, {"connected"})
        await ws.send(msgspec.json.encode({"action": "auth", "params": self._api_key}).decode())
        status = await self._expect(ws, {"auth_success", "auth_failed"})
        if status.status == "auth_failed":
            raise SourceAuthError(
                f"polygon refused the API key: {self._redact(status.message) or 'authentication failed'}",
                source=self.source,
                status=401,
            )
        params = ",".join(f"AM.{symbol}" for symbol in self.symbols)
        await ws.send(msgspec.json.encode({"action": "subscribe", "params": params}).decode())

    async def _expect(self, ws: ClientConnection, wanted: set[str]) -> _Status:
        """The next status among ``wanted`` (other statuses are reported; data is not expected yet)."""
        while True:
            try:
                message = await asyncio.wait_for(ws.recv(), self._timeout)
            except (ConnectionClosed, TimeoutError) as exc:
                raise _Dropped(f"handshake interrupted ({type(exc).__name__})") from None
            try:
                statuses, _ = decode_message(message)
            except SourceProtocolError as exc:
                raise _Dropped(str(exc)) from None
            for status in statuses:
                if status.status in wanted:
                    return status
                self._status(f"polygon: {status.status}: {self._redact(status.message)}")

    async def _backfill(self, after: Mapping[str, int]) -> list[LiveBars]:
        """Closed minutes after ``after[symbol]`` up to now, over REST, one batch per symbol."""
        if self._rest is None:
            self._status("polygon: no REST source to backfill the gap with")
            return []
        now = self._clock()
        now_ms = int(now.timestamp() * 1000)
        oldest = now_ms - int(self._max_gap.total_seconds() * 1000)
        rest = self._rest

        async def one(symbol: str, last: int) -> LiveBars | None:
            start = max(last + 1, oldest)
            if start + MINUTE_MS > now_ms:
                return None
            key = SeriesKey(symbol=symbol, multiplier=1, timespan="minute", adjusted=self._adjusted)
            first_day = dt.datetime.fromtimestamp(start / 1000, NEW_YORK).date()
            request = SeriesRequest(key=key, start=first_day, end=now.astimezone(NEW_YORK).date())
            batches = [batch async for batch in rest.fetch(request)]
            if not batches:
                return None
            table = pa.Table.from_batches(batches)
            ts = table.column("ts").cast(pa.int64())
            keep = pc.and_(pc.greater_equal(ts, start), pc.less_equal(ts, now_ms - MINUTE_MS))
            table = table.filter(keep).sort_by("ts")
            if table.num_rows == 0:
                return None
            return LiveBars(symbol=symbol, bars=table.combine_chunks().to_batches()[0], backfill=True)

        results = await asyncio.gather(*(one(s, t) for s, t in after.items()), return_exceptions=True)
        out: list[LiveBars] = []
        for symbol, result in zip(after, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result
                self._status(f"polygon: backfill of {symbol} failed: {self._redact(str(result))}")
                continue
            if result is not None:
                out.append(result)
                last = int(pc.max(result.bars.column("ts")).cast(pa.int64()).as_py())
                self.seen[symbol] = max(self.seen.get(symbol, last), last)
        if out:
            bars = sum(item.bars.num_rows for item in out)
            self._status(f"polygon: backfilled {bars} missed minute(s) over REST")
        return out

    def _before_sleep(self, state: RetryCallState) -> None:
        outcome = state.outcome
        failure = outcome.exception() if outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        self._status(f"polygon: cannot connect ({failure}); retrying in {wait:.1f} s")

    def _status(self, line: str) -> None:
        _log.info("%s", line)
        if self._on_status is not None:
            self._on_status(line)

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***")
