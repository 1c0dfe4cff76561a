"""A loopback Polygon aggregates server: the real wire format on 127.0.0.1, for real-client tests.

It holds bars per ``(ticker, multiplier, timespan, adjusted)`` and answers
``GET /v2/aggs/ticker/{T}/range/{mult}/{timespan}/{from}/{to}`` from them as Polygon does:
``from``/``to`` are whole New York days (``YYYY-MM-DD``) or epoch ms, both inclusive; ``sort``
and ``limit`` apply; a longer answer pages with a ``next_url`` that, like Polygon's, carries a
cursor (``limit`` and ``sort``) but neither ``apiKey`` nor ``adjusted``; an empty range has no
``results`` key. The key is checked from ``Authorization: Bearer`` or ``apiKey``.

``GET /v2/aggs/grouped/locale/us/market/stocks/{date}`` (grouped daily) answers every ticker's
day bar of that date from the held ``(ticker, 1, "day", adjusted)`` series, each result with its
ticker in ``T`` and, as Polygon documents it, ``t`` at the *end* of the day's window (16:00 New
York); a date with no bars has no ``results`` key.

Failures are scripted with :meth:`PolygonLoopback.inject` (403, 429 with or without
``Retry-After``, a 502 HTML page, truncated JSON, slow answers, answers held until the test lets
them go, any JSON error), and every request is recorded in :attr:`PolygonLoopback.requests`.

Example:
    >>> with PolygonLoopback(api_key="k") as polygon:  # doctest: +SKIP
    ...     polygon.add_bars("AAPL", 1, "minute", table)
    ...     polygon.inject(Fault.rate_limited(retry_after=1), times=2)
    ...     source = PolygonRestSource("k", base_url=polygon.base_url)

The ASGI app (:meth:`PolygonLoopback.app`) also serves in-process through ``httpx.ASGITransport``.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import datetime as dt
import math
import re
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Literal, Self
from urllib.parse import parse_qsl, quote, urlencode
from zoneinfo import ZoneInfo

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import uvicorn

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
SeriesId = tuple[str, int, str, bool]
FaultKind = Literal["respond", "truncate", "delay", "hold"]

NEW_YORK = ZoneInfo("America/New_York")
DEFAULT_LIMIT = 5_000
MAX_LIMIT = 50_000
TIMESPANS = frozenset({"second", "minute", "hour", "day", "week", "month", "quarter", "year"})
_BASE_PER_BAR = {"hour": 60}  # base aggregates per bar of multiplier 1: minutes for hours, else 1
_AGGS_PATH = re.compile(r"^/v2/aggs/ticker/([^/]+)/range/([^/]+)/([^/]+)/([^/]+)/([^/]+)/?$")
_GROUPED_PATH = re.compile(r"^/v2/aggs/grouped/locale/us/market/stocks/([^/]+)/?$")
_COLUMNS = {  # accepted input column -> Polygon field
    "ts": "t", "t": "t", "open": "o", "o": "o", "high": "h", "h": "h", "low": "l", "l": "l",
    "close": "c", "c": "c", "volume": "v", "v": "v", "vwap": "vw", "vw": "vw", "transactions": "n", "n": "n",
}  # fmt: skip

BAD_GATEWAY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


def _json(payload: Mapping[str, Any]) -> bytes:
    return msgspec.json.encode(payload)


def _request_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour: a fixed response, or the real answer truncated, delayed or held back."""

    kind: FaultKind
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    delay_s: float = 0.0
    gate: threading.Event | None = None

    @classmethod
    def json_error(
        cls, status: int, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> Fault:
        """Answer ``status`` with a JSON body (a ``request_id`` is added when missing)."""
        body = {"request_id": _request_id(), **payload}
        return cls("respond", status, _json(body), headers=tuple((headers or {}).items()))

    @classmethod
    def not_authorized(cls) -> Fault:
        """Polygon's 403 for a plan without the data."""
        message = "You are not entitled to this data. Please upgrade your plan at https://polygon.io/pricing"
        return cls.json_error(403, {"status": "NOT_AUTHORIZED", "message": message})

    @classmethod
    def rate_limited(cls, retry_after: float | None = None) -> Fault:
        """Polygon's 429, with a ``Retry-After`` header (seconds) when given."""
        error = (
            "You've exceeded the maximum requests per minute, please wait or upgrade your "
            "subscription to continue. https://polygon.io/pricing"
        )
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else None
        return cls.json_error(429, {"status": "ERROR", "error": error}, headers)

    @classmethod
    def bad_gateway(cls) -> Fault:
        """A proxy's HTML 502 page."""
        return cls("respond", 502, BAD_GATEWAY_HTML, content_type="text/html")

    @classmethod
    def truncated(cls) -> Fault:
        """The real answer cut in half (a valid HTTP response whose JSON ends early)."""
        return cls("truncate")

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """The real answer after ``seconds``."""
        return cls("delay", delay_s=seconds)

    @classmethod
    def held(cls, gate: threading.Event) -> Fault:
        """The real answer once ``gate`` is set (from any thread): a page exactly as slow as a test needs."""
        return cls("hold", gate=gate)


@dataclass
class RecordedRequest:
    """One request the server saw; ``status`` is what it answered."""

    method: str
    path: str
    raw_path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int = 0


@dataclass
class _Series:
    t: np.ndarray[Any, np.dtype[np.int64]]
    columns: dict[str, np.ndarray[Any, np.dtype[Any]]] = field(default_factory=dict)


class _GroupedResult(msgspec.Struct, omit_defaults=True, kw_only=True):
    ticker: str = msgspec.field(name="T")
    v: float | int
    vw: float | None = None
    o: float
    c: float
    h: float
    low: float = msgspec.field(name="l")
    t: int
    n: int | None = None


class _Result(msgspec.Struct, omit_defaults=True, kw_only=True):
    v: float | int
    vw: float | None = None
    o: float
    c: float
    h: float
    low: float = msgspec.field(name="l")
    t: int
    n: int | None = None


class PolygonLoopback:
    """A Polygon aggregates server on ``127.0.0.1`` with an OS-assigned port, run in a thread.

    Args:
        api_key: The only key the server accepts.
        status: ``status`` of successful answers (``"OK"`` or ``"DELAYED"``).
        max_page_size: Most results per page whatever ``limit`` says, to force paging in small tests.
        require_adjusted: Refuse (400) an aggregates request without ``adjusted``; such requests
            are counted in :attr:`missing_adjusted` either way.
        latency_s: Delay before every answer.
    """

    def __init__(
        self,
        api_key: str = "loopback-key",
        *,
        status: str = "OK",
        max_page_size: int | None = None,
        require_adjusted: bool = True,
        latency_s: float = 0.0,
    ) -> None:
        """Create a stopped server; :meth:`start` or ``with`` runs it."""
        self.api_key = api_key
        self._defaults = (status, max_page_size, require_adjusted, latency_s)
        self._lock = threading.Lock()
        self._series: dict[SeriesId, _Series] = {}
        self._faults: collections.deque[list[Any]] = collections.deque()
        self.requests: list[RecordedRequest] = []
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self.reset()

    # -- knobs --------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget bars, faults, the request log and counters; restore the constructor's knobs."""
        self.status, self.max_page_size, self.require_adjusted, self.latency_s = self._defaults
        with self._lock:
            self._series.clear()
            self._faults.clear()
            self.requests.clear()
        self.missing_adjusted = 0
        self.in_flight = 0
        self.max_concurrency = 0

    def inject(self, fault: Fault, times: int | None = 1, *, path_contains: str | None = None) -> None:
        """Apply ``fault`` to the next ``times`` authenticated requests (``None``: until cleared).

        With ``path_contains``, only requests whose path contains it are affected (one window,
        one ticker); faults are tried in the order they were injected.
        """
        with self._lock:
            self._faults.append([fault, times, path_contains])

    def clear_faults(self) -> None:
        """Drop every scripted fault."""
        with self._lock:
            self._faults.clear()

    def add_bars(
        self,
        ticker: str,
        multiplier: int,
        timespan: str,
        bars: pa.Table | pa.RecordBatch | Mapping[str, Any],
        *,
        adjusted: bool = True,
    ) -> int:
        """Store bars of one series, merged with any held (a later bar at the same ``t`` wins).

        Args:
            ticker: The ticker as Polygon spells it.
            multiplier: The bar multiplier.
            timespan: The Polygon timespan.
            bars: A table or batch (``BAR_ARROW_SCHEMA`` names or Polygon's ``t o h l c v vw n``),
                or a mapping of those names to NumPy arrays; ``ts``/``t`` as epoch ms or timestamps.
            adjusted: Which of the two series (split-adjusted or raw) the bars belong to.

        Returns:
            The number of bars the series now holds.
        """
        columns = {_COLUMNS[name]: _numpy(bars[name], name) for name in _names(bars) if name in _COLUMNS}
        missing = {"t", "o", "h", "l", "c", "v"} - columns.keys()
        if missing:
            raise ValueError(f"bars lack columns {sorted(missing)}")
        size = len(columns["t"])
        columns.setdefault("vw", np.full(size, np.nan))
        columns.setdefault("n", np.full(size, -1, dtype=np.int64))
        key = (ticker, multiplier, timespan, adjusted)
        with self._lock:
            held = self._series.get(key)
            if held is not None:
                columns = {name: np.concatenate([held.columns[name], columns[name]]) for name in columns}
            t = columns["t"]
            # Reverse before a stable unique so the last occurrence of each t is kept.
            _, last = np.unique(t[::-1], return_index=True)
            keep = len(t) - 1 - last
            series = _Series(t[keep], {name: col[keep] for name, col in columns.items()})
            self._series[key] = series
            return len(series.t)

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` of the running server."""
        if not self._port:
            raise RuntimeError("the loopback server is not running")
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> Self:
        """Serve in a background thread; return once the server accepts connections."""
        # proto=IPPROTO_TCP, or asyncio skips TCP_NODELAY on accepted sockets and every answer
        # (headers and body written separately) waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(
            self.app,
            interface="asgi3",
            lifespan="off",
            ws="none",
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="polygon-loopback", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the loopback Polygon server did not start")
            time.sleep(0.005)
        self._server, self._thread, self._port = server, thread, sock.getsockname()[1]
        return self

    def stop(self) -> None:
        """Stop the server and join its thread."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None
        self._port = 0

    def __enter__(self) -> Self:
        """Start the server."""
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        """Stop the server."""
        self.stop()

    # -- the ASGI app -------------------------------------------------------------------------

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one HTTP request the way Polygon's aggregates endpoint does."""
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        record = RecordedRequest(
            method=scope["method"],
            path=scope["path"],
            raw_path=(scope.get("raw_path") or scope["path"].encode()).decode("latin-1"),
            query=dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)),
            headers=headers,
        )
        self.requests.append(record)
        self.in_flight += 1
        self.max_concurrency = max(self.max_concurrency, self.in_flight)
        try:
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            status, body, content_type, extra = await self._answer(record)
        finally:
            self.in_flight -= 1
        record.status = status
        raw_headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
        raw_headers += [(k.lower().encode(), v.encode()) for k, v in extra]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, record: RecordedRequest) -> tuple[int, bytes, str, tuple[tuple[str, str], ...]]:
        given = record.query.get("apiKey") or record.headers.get("authorization", "").removeprefix("Bearer ")
        if not given:
            return (401, self._error("ERROR", error="API Key was not provided"), "application/json", ())
        if given != self.api_key:
            return (401, self._error("ERROR", error="Unknown API Key"), "application/json", ())
        fault = self._next_fault(record.path)
        if fault is not None and fault.kind == "respond":
            return fault.status, fault.body, fault.content_type, fault.headers
        if fault is not None and fault.kind == "delay":
            await asyncio.sleep(fault.delay_s)
        if fault is not None and fault.gate is not None:
            while not fault.gate.is_set():
                await asyncio.sleep(0.01)
        status, body = self._aggregates(record)
        if fault is not None and fault.kind == "truncate":
            body = body[: max(1, len(body) // 2)]
        return status, body, "application/json", ()

    def _next_fault(self, path: str) -> Fault | None:
        with self._lock:
            entry = next((e for e in self._faults if e[2] is None or e[2] in path), None)
            if entry is None:
                return None
            if entry[1] is not None:
                entry[1] -= 1
                if entry[1] <= 0:
                    self._faults.remove(entry)
            fault: Fault = entry[0]
            return fault

    def _error(self, status: str, **fields: str) -> bytes:
        return _json({"status": status, "request_id": _request_id(), **fields})

    def _grouped(self, record: RecordedRequest, day_text: str) -> tuple[int, bytes]:
        """Every ticker's day bar of one date, as the grouped-daily endpoint answers it."""
        if "adjusted" not in record.query:
            self.missing_adjusted += 1
            if self.require_adjusted:
                return 400, self._error("ERROR", error="loopback: the request lacks the 'adjusted' parameter")
        try:
            day = dt.date.fromisoformat(day_text)
        except ValueError:
            return 400, self._error("ERROR", error="Could not parse the date")
        adjusted = record.query.get("adjusted", "true").lower() != "false"
        midnight, close = (
            _start_ms(day_text),
            int(dt.datetime.combine(day, dt.time(16), NEW_YORK).timestamp() * 1000),
        )
        with self._lock:
            held = [
                (key[0], series) for key, series in self._series.items() if key[1:] == (1, "day", adjusted)
            ]
        results = []
        for ticker, series in sorted(held, key=lambda item: item[0]):
            at = int(np.searchsorted(series.t, midnight))
            if at < len(series.t) and series.t[at] == midnight:
                (row,) = _results(series, np.array([at]))
                results.append(_GroupedResult(ticker=ticker, **{**msgspec.structs.asdict(row), "t": close}))
        payload: dict[str, Any] = {
            "adjusted": adjusted,
            "queryCount": len(results),
            "resultsCount": len(results),
            "status": self.status,
            "request_id": _request_id(),
        }
        if results:
            payload["results"] = results
        return 200, _json(payload)

    def _aggregates(self, record: RecordedRequest) -> tuple[int, bytes]:
        grouped = _GROUPED_PATH.match(record.path)
        if record.method == "GET" and grouped is not None:
            return self._grouped(record, grouped.group(1))
        match = _AGGS_PATH.match(record.path)
        if record.method != "GET" or match is None:
            return 404, self._error("NOT_FOUND", message="Route not found")
        ticker, mult_text, timespan, from_text, to_text = match.groups()
        if "adjusted" not in record.query:
            self.missing_adjusted += 1
            if self.require_adjusted:
                return 400, self._error("ERROR", error="loopback: the request lacks the 'adjusted' parameter")
        adjusted = record.query.get("adjusted", "true").lower() != "false"
        options = dict(record.query)
        if "cursor" in options:  # Polygon's cursor is base64 of "limit=..&sort=.."; it wins
            padded = options["cursor"] + "=" * (-len(options["cursor"]) % 4)
            options.update(parse_qsl(base64.urlsafe_b64decode(padded).decode()))
        try:
            multiplier = int(mult_text)
            limit = min(MAX_LIMIT, int(options.get("limit", DEFAULT_LIMIT)))
            first_ms, last_ms = _start_ms(from_text), _end_ms(to_text)
            if multiplier < 1 or limit < 1 or timespan not in TIMESPANS:
                raise ValueError
        except ValueError:
            return 400, self._error("ERROR", error="Could not parse the request parameters")
        descending = options.get("sort", "asc") == "desc"
        # ``limit`` counts base aggregates: a page of 5-minute bars holds limit // 5 of them.
        base_per_bar = multiplier * _BASE_PER_BAR.get(timespan, 1)
        page = max(1, min(limit // base_per_bar, self.max_page_size or limit))
        with self._lock:
            series = self._series.get((ticker, multiplier, timespan, adjusted))
        payload: dict[str, Any] = {"ticker": ticker, "queryCount": 0, "resultsCount": 0, "adjusted": adjusted}
        if series is not None:
            lo = int(np.searchsorted(series.t, first_ms, side="left"))
            hi = int(np.searchsorted(series.t, last_ms, side="right"))
            span = np.arange(lo, hi)[::-1] if descending else np.arange(lo, hi)
            picked, rest = span[:page], span[page:]
            if len(picked):
                results = _results(series, picked)
                payload.update(
                    queryCount=len(results) * base_per_bar, resultsCount=len(results), results=results
                )
            payload.update(status=self.status, request_id=_request_id())
            if len(picked):
                payload["count"] = len(picked)
            if len(rest):
                following = int(series.t[rest[0]])
                new_from, new_to = (from_text, str(following)) if descending else (str(following), to_text)
                cursor = base64.urlsafe_b64encode(
                    urlencode({"limit": limit, "sort": options.get("sort", "asc")}).encode()
                )
                host = record.headers.get("host", f"127.0.0.1:{self._port}")
                payload["next_url"] = (
                    f"http://{host}/v2/aggs/ticker/{quote(ticker, safe='')}/range/{multiplier}/{timespan}/"
                    f"{new_from}/{new_to}?cursor={cursor.decode().rstrip('=')}"
                )
        else:
            payload.update(status=self.status, request_id=_request_id())
        return 200, _json(payload)


def _names(bars: pa.Table | pa.RecordBatch | Mapping[str, Any]) -> list[str]:
    if isinstance(bars, pa.Table | pa.RecordBatch):
        return list(bars.schema.names)
    return list(bars.keys())


def _numpy(column: Any, name: str) -> np.ndarray[Any, np.dtype[Any]]:
    """One input column as NumPy: ``t`` int64 ms, ``n`` int64 (-1 for null), prices float64 (NaN for null)."""
    target = _COLUMNS[name]
    if isinstance(column, pa.ChunkedArray | pa.Array):
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.timestamp("ms", tz=column.type.tz)).cast(pa.int64())
        if target == "n":
            column = pc.fill_null(column.cast(pa.int64()), -1)
        elif target != "t":
            column = pc.fill_null(column.cast(pa.float64()), float("nan"))
        return np.asarray(column.to_numpy(zero_copy_only=False))
    array = np.asarray(column)
    if target == "t":
        if np.issubdtype(array.dtype, np.datetime64):
            return array.astype("datetime64[ms]").astype(np.int64)
        return array.astype(np.int64)
    return array.astype(np.int64 if target == "n" else np.float64)


def _results(series: _Series, picked: np.ndarray[Any, np.dtype[Any]]) -> list[_Result]:
    cols = {name: col[picked].tolist() for name, col in series.columns.items()}
    rows = []
    for t, o, h, low, c, v, vw, n in zip(
        cols["t"], cols["o"], cols["h"], cols["l"], cols["c"], cols["v"], cols["vw"], cols["n"], strict=True
    ):
        # Polygon writes whole volumes as JSON integers and omits vw / n when it has none.
        volume = int(v) if float(v).is_integer() else v
        rows.append(
            _Result(
                v=volume,
                vw=None if math.isnan(vw) else vw,
                o=o,
                c=c,
                h=h,
                low=low,
                t=t,
                n=None if n < 0 else n,
            )
        )
    return rows


def _start_ms(text: str) -> int:
    """``from``: epoch ms, or the start of that New York day."""
    if text.isdigit():
        return int(text)
    day = dt.date.fromisoformat(text)
    return int(dt.datetime.combine(day, dt.time(), NEW_YORK).timestamp() * 1000)


def _end_ms(text: str) -> int:
    """``to``: epoch ms, or the last millisecond of that New York day."""
    if text.isdigit():
        return int(text)
    day = dt.date.fromisoformat(text) + dt.timedelta(days=1)
    return int(dt.datetime.combine(day, dt.time(), NEW_YORK).timestamp() * 1000) - 1
