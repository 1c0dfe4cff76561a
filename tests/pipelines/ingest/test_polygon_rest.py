"""The Polygon REST source against a loopback server speaking Polygon's aggregates wire format."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import numpy as np
import pyarrow as pa
import pytest

from pipelines.errors import (
    PipelineError,
    SourceAuthError,
    SourceError,
    SourceProtocolError,
    SourceRateLimited,
    SourceUnavailable,
    UnsupportedRequest,
)
from pipelines.ingest.sources.polygon_rest import PolygonRestSource, plan_windows
from schemas.bars import BAR_ARROW_SCHEMA, SeriesKey, SeriesRequest
from tests.loopback.polygon import NEW_YORK, Fault, PolygonLoopback

if TYPE_CHECKING:
    from collections.abc import Iterator

KEY = "sk-LOOPBACK-secret-0123456789"


@pytest.fixture(scope="module")
def server() -> Iterator[PolygonLoopback]:
    """The loopback server, started once for the module."""
    with PolygonLoopback(api_key=KEY) as loopback:
        yield loopback


@pytest.fixture
def polygon(server: PolygonLoopback) -> PolygonLoopback:
    """The loopback server with no bars, faults or history."""
    server.reset()
    return server


def make_source(polygon: PolygonLoopback, **kwargs: Any) -> PolygonRestSource:
    """A source on the loopback with millisecond backoff and three attempts."""
    options: dict[str, Any] = {"backoff_base_s": 0.001, "max_backoff_s": 0.02, "max_attempts": 3}
    options.update(kwargs)
    return PolygonRestSource(options.pop("api_key", KEY), base_url=polygon.base_url, **options)


def request(
    start: dt.date, end: dt.date, *, symbol: str = "AAPL", timespan: str = "day", adjusted: bool = True
) -> SeriesRequest:
    """A one-series request over an inclusive date range."""
    key = SeriesKey(symbol=symbol, multiplier=1, timespan=timespan, adjusted=adjusted)
    return SeriesRequest(key=key, start=start, end=end)


async def collect(source: PolygonRestSource, req: SeriesRequest, progress: Any = None) -> pa.Table:
    """Every batch of a fetch as one table, each checked against the bar schema."""
    batches = [batch async for batch in source.fetch(req, progress)]
    for batch in batches:
        assert batch.schema == BAR_ARROW_SCHEMA
    return pa.Table.from_batches(batches, schema=BAR_ARROW_SCHEMA)


def ny_ms(day: dt.date, hour: int = 0, minute: int = 0) -> int:
    """Epoch ms of a New York wall-clock time."""
    return int(dt.datetime.combine(day, dt.time(hour, minute), NEW_YORK).timestamp() * 1000)


def weekdays(start: dt.date, end: dt.date) -> list[dt.date]:
    """Monday to Friday dates of an inclusive range."""
    days = (start + dt.timedelta(days=i) for i in range((end - start).days + 1))
    return [day for day in days if day.weekday() < 5]


def bars_at(t: np.ndarray[Any, Any], scale: float = 1.0, seed: int = 0) -> dict[str, np.ndarray[Any, Any]]:
    """Deterministic bars at the given times; half the volumes are fractional."""
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.normal(0, 0.1, len(t)))
    return {
        "t": t,
        "o": close * scale,
        "h": (close + 0.5) * scale,
        "l": (close - 0.5) * scale,
        "c": close * scale,
        "v": rng.integers(1, 10_000, len(t)).astype(float) + 0.5 * (np.arange(len(t)) % 2),
        "vw": close * scale,
        "n": rng.integers(1, 500, len(t)),
    }


def day_bars(start: dt.date, end: dt.date, **kwargs: Any) -> dict[str, np.ndarray[Any, Any]]:
    """One bar per weekday at New York midnight, as Polygon stamps day bars."""
    return bars_at(np.array([ny_ms(day) for day in weekdays(start, end)], dtype=np.int64), **kwargs)


def minute_bars(start: dt.date, end: dt.date) -> dict[str, np.ndarray[Any, Any]]:
    """Every minute of 04:00-19:59 New York on every weekday: 960 bars a day."""
    # 04:00-19:59 New York, every minute of every weekday: 960 bars a day.
    opens = np.array([ny_ms(day, 4) for day in weekdays(start, end)], dtype=np.int64)
    t = (opens[:, None] + np.arange(960, dtype=np.int64)[None, :] * 60_000).ravel()
    return bars_at(t)


def ms(table: pa.Table) -> list[int]:
    """The ``ts`` column as epoch ms."""
    return table.column("ts").cast(pa.int64()).to_pylist()


def assert_key_hidden(exc: BaseException) -> None:
    """The API key appears nowhere in an error."""
    assert KEY not in str(exc)
    assert KEY not in repr(exc.args)


# -- the happy paths --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_pages_resend_the_key_and_keep_adjusted_false(polygon: PolygonLoopback) -> None:
    """Every page, cursor pages included, carries the key header and ``adjusted=false``."""
    start, end = dt.date(2020, 1, 1), dt.date(2021, 3, 31)
    raw = day_bars(start, end)
    polygon.add_bars("AAPL", 1, "day", day_bars(start, end, scale=2.0), adjusted=True)
    polygon.add_bars("AAPL", 1, "day", raw, adjusted=False)
    polygon.max_page_size = 100

    async with make_source(polygon) as source:
        table = await collect(source, request(start, end, adjusted=False))

    assert ms(table) == raw["t"].tolist()
    assert table.column("close").to_pylist() == raw["c"].tolist()
    assert table.column("volume").to_pylist() == raw["v"].tolist()
    assert table.column("transactions").to_pylist() == raw["n"].tolist()
    assert len(polygon.requests) == -(-len(raw["t"]) // 100) >= 3
    for seen in polygon.requests:
        assert seen.headers["authorization"] == f"Bearer {KEY}"
        assert seen.query["adjusted"] == "false"
        assert "apiKey" not in seen.query
    assert all("cursor" in seen.query for seen in polygon.requests[1:])
    assert polygon.missing_adjusted == 0


@pytest.mark.asyncio
async def test_next_url_carries_neither_key_nor_adjusted(polygon: PolygonLoopback) -> None:
    """The loopback is as unhelpful as Polygon: a client must add both itself."""
    polygon.add_bars("AAPL", 1, "day", day_bars(dt.date(2024, 1, 1), dt.date(2024, 1, 31)), adjusted=False)
    url = f"{polygon.base_url}/v2/aggs/ticker/AAPL/range/1/day/2024-01-01/2024-01-31"
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}) as client:
        first = (await client.get(url, params={"adjusted": "false", "limit": 5})).json()
        assert first["resultsCount"] == first["count"] == 5
        assert KEY not in first["next_url"]
        assert "adjusted" not in first["next_url"]
        naive = await client.get(first["next_url"])
    assert naive.status_code == 400
    assert polygon.missing_adjusted == 1


@pytest.mark.asyncio
async def test_minute_range_is_windowed_and_every_bar_comes_back_once(polygon: PolygonLoopback) -> None:
    """Six months of minutes go out as four windows and every bar comes back once."""
    start, end = dt.date(2024, 1, 1), dt.date(2024, 6, 30)
    bars = minute_bars(start, end)
    polygon.add_bars("AAPL", 1, "minute", bars, adjusted=True)
    calls: list[tuple[int, int, int]] = []

    async with make_source(polygon) as source:
        table = await collect(
            source, request(start, end, timespan="minute"), lambda *args: calls.append(args)
        )

    assert sorted(ms(table)) == bars["t"].tolist()  # windows may finish in any order
    windows = plan_windows(request(start, end, timespan="minute"))
    assert len(windows) == len(polygon.requests) == 4
    assert all("cursor" not in seen.query for seen in polygon.requests)  # each window fits one page
    assert all(int(seen.query["limit"]) == 50_000 for seen in polygon.requests)
    assert [done for done, _, _ in calls] == [1, 2, 3, 4]
    assert calls[-1] == (4, 4, len(bars["t"]))


@pytest.mark.asyncio
async def test_windows_run_concurrently_within_max_in_flight(polygon: PolygonLoopback) -> None:
    """Windows overlap in time, never more than ``max_in_flight`` at once."""
    start, end = dt.date(2024, 3, 1), dt.date(2024, 3, 31)
    bars = minute_bars(start, end)
    polygon.add_bars("AAPL", 1, "minute", bars)
    polygon.latency_s = 0.05

    async with make_source(polygon, page_limit=5_000, max_in_flight=3) as source:
        table = await collect(source, request(start, end, timespan="minute"))

    assert len(polygon.requests) == 7  # 31 days in windows of 5
    assert 2 <= polygon.max_concurrency <= 3
    assert sorted(ms(table)) == bars["t"].tolist()


def test_plan_windows_cover_the_range_contiguously() -> None:
    """Windows tile the range and size to the base aggregates per day."""
    year = (dt.date(2023, 1, 1), dt.date(2024, 12, 31))
    for timespan, symbol, longest in [
        ("minute", "AAPL", 52),
        ("hour", "AAPL", 52),
        ("minute", "X:BTCUSD", 34),
        ("second", "AAPL", 1),
        ("day", "AAPL", 731),
        ("month", "AAPL", 731),
    ]:
        windows = plan_windows(request(*year, symbol=symbol, timespan=timespan))
        assert windows[0][0] == year[0]
        assert windows[-1][1] == year[1]
        assert all(b[0] - a[1] == dt.timedelta(days=1) for a, b in itertools.pairwise(windows))
        assert max((last - first).days + 1 for first, last in windows) == longest
    with pytest.raises(UnsupportedRequest):
        plan_windows(request(dt.date(2024, 2, 1), dt.date(2024, 1, 1)))


@pytest.mark.asyncio
async def test_empty_range_has_no_results_key_and_yields_nothing(polygon: PolygonLoopback) -> None:
    """An empty answer has no ``results`` key and yields no batch."""
    polygon.add_bars("AAPL", 1, "day", day_bars(dt.date(2024, 1, 1), dt.date(2024, 1, 31)))
    async with httpx.AsyncClient() as client:
        url = f"{polygon.base_url}/v2/aggs/ticker/AAPL/range/1/day/2023-01-01/2023-01-31"
        body = (await client.get(url, params={"adjusted": "true", "apiKey": KEY})).json()
    assert body["resultsCount"] == 0
    assert "results" not in body
    calls: list[tuple[int, int, int]] = []

    async with make_source(polygon) as source:
        assert (await collect(source, request(dt.date(2023, 1, 1), dt.date(2023, 1, 31)))).num_rows == 0
        weekend = request(dt.date(2024, 1, 6), dt.date(2024, 1, 7))
        assert (await collect(source, weekend, lambda *a: calls.append(a))).num_rows == 0
        unknown = request(dt.date(2024, 1, 1), dt.date(2024, 1, 31), symbol="NOPE")
        assert (await collect(source, unknown)).num_rows == 0
    assert calls == [(1, 1, 0)]


@pytest.mark.asyncio
async def test_delayed_status_and_missing_vwap_and_transactions(polygon: PolygonLoopback) -> None:
    """``DELAYED`` is a success; absent ``vw`` and ``n`` become nulls."""
    bars = day_bars(dt.date(2024, 1, 1), dt.date(2024, 1, 12))
    bars["vw"][::2] = np.nan
    bars["n"][1::2] = -1
    polygon.add_bars("I:SPX", 1, "day", bars)
    polygon.status = "DELAYED"

    async with make_source(polygon) as source:
        table = await collect(source, request(dt.date(2024, 1, 1), dt.date(2024, 1, 12), symbol="I:SPX"))

    assert table.num_rows == 10
    assert table.column("vwap").null_count == 5
    assert table.column("transactions").null_count == 5
    assert table.column("vwap").to_pylist()[1] == bars["vw"][1]


@pytest.mark.asyncio
@pytest.mark.parametrize("ticker", ["X:BTCUSD", "BRK.A", "C:EURUSD"])
async def test_tickers_with_colon_and_dot_are_quoted(polygon: PolygonLoopback, ticker: str) -> None:
    """Tickers with ``:`` and ``.`` reach the server intact, quoted in the path."""
    bars = day_bars(dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    polygon.add_bars(ticker, 1, "day", pa.table(bars))

    async with make_source(polygon) as source:
        table = await collect(source, request(dt.date(2024, 1, 1), dt.date(2024, 1, 31), symbol=ticker))

    assert ms(table) == bars["t"].tolist()
    assert polygon.requests[0].path.startswith(f"/v2/aggs/ticker/{ticker}/range/1/day/")
    assert polygon.requests[0].raw_path.startswith(f"/v2/aggs/ticker/{quote(ticker, safe='')}/range/")


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_unknown_key_is_an_auth_error(polygon: PolygonLoopback) -> None:
    """401 raises at once with Polygon's reason."""
    async with make_source(polygon, api_key="sk-wrong-key") as source:
        with pytest.raises(SourceAuthError, match="Unknown API Key") as caught:
            await collect(source, request(dt.date(2024, 1, 1), dt.date(2024, 1, 31)))
    assert caught.value.status == 401
    assert caught.value.source == "polygon"
    assert "sk-wrong-key" not in str(caught.value)
    assert len(polygon.requests) == 1  # not retried


@pytest.mark.asyncio
async def test_not_authorized_is_an_auth_error(polygon: PolygonLoopback) -> None:
    """403 NOT_AUTHORIZED raises at once with Polygon's message."""
    polygon.inject(Fault.not_authorized(), times=None)
    async with make_source(polygon) as source:
        with pytest.raises(SourceAuthError, match="not entitled") as caught:
            await collect(source, request(dt.date(2024, 1, 1), dt.date(2024, 1, 31)))
    assert caught.value.status == 403
    assert_key_hidden(caught.value)
    assert len(polygon.requests) == 1


@pytest.mark.asyncio
async def test_rate_limit_honours_retry_after_and_recovers(polygon: PolygonLoopback) -> None:
    """429 with Retry-After waits as told (capped) and then succeeds."""
    bars = day_bars(dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    polygon.add_bars("AAPL", 1, "day", bars)
    polygon.inject(Fault.rate_limited(retry_after=1), times=2)

    started = time.monotonic()
    async with make_source(polygon, max_backoff_s=0.25, max_attempts=3) as source:
        table = await collect(source, request(dt.date(2024, 1, 1), dt.date(2024, 1, 31)))
    elapsed = time.monotonic() - started

    assert ms(table) == bars["t"].tolist()
    assert [seen.status for seen in polygon.requests] == [429, 429, 200]
    assert elapsed >= 0.45  # Retry-After (1 s) capped at max_backoff_s, twice; the base step is 1 ms


@pytest.mark.asyncio
async def test_rate_limit_without_retry_after_backs_off_and_recovers(polygon: PolygonLoopback) -> None:
    """429 without Retry-After backs off exponentially and then succeeds."""
    bars = day_bars(dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    polygon.add_bars("AAPL", 1, "day", bars)
    polygon.inject(Fault.rate_limited(), times=3)

    async with make_source(polygon, max_attempts=4) as source:
        table = await collect(source, request(dt.date(2024, 1, 1), dt.date(2024, 1, 31)))

    assert ms(table) == bars["t"].tolist()
    assert [seen.status for seen in polygon.requests] == [429, 429, 429, 200]


@pytest.mark.asyncio
@pytest.mark.parametrize("retry_after", [None, 0.01])
async def test_persistent_rate_limit_raises(polygon: PolygonLoopback, retry_after: float | None) -> None:
    """429 on every attempt raises SourceRateLimited after ``max_attempts``."""
    polygon.inject(Fault.rate_limited(retry_after=retry_after), times=None)
    async with make_source(polygon, max_attempts=3) as source:
        with pytest.raises(SourceRateLimited, match=r"429.*exceeded the maximum requests") as caught:
            await collect(source, request(dt.date(2024, 1, 1), dt.date(2024, 1, 31)))
    assert caught.value.status == 429
    assert_key_hidden(caught.value)
    assert len(polygon.requests) == 3


@pytest.mark.asyncio
async def test_bad_gateway_page_is_retried_and_recovers(polygon: PolygonLoopback) -> None:
    """An HTML 502 page is retried."""
    bars = day_bars(dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    polygon.add_bars("AAPL", 1, "day", bars)
    polygon.inject(Fault.bad_gateway(), times=2)

    async with make_source(polygon) as source:
        table = await collect(source, request(dt.date(2024, 1, 1), dt.date(2024, 1, 31)))

    assert ms(table) == bars["t"].tolist()
    assert [seen.status for seen in polygon.requests] == [502, 502, 200]


@pytest.mark.asyncio
async def test_persistent_bad_gateway_is_unavailable(polygon: PolygonLoopback) -> None:
    """502 on every attempt raises SourceUnavailable with a tag-free snippet."""
    polygon.inject(Fault.bad_gateway(), times=None)
    async with make_source(polygon) as source:
        with pytest.raises(SourceUnavailable, match=r"HTTP 502.*502 Bad Gateway") as caught:
            await collect(source, request(dt.date(2024, 1, 1), dt.date(2024, 1, 31)))
    assert caught.value.status == 502
    assert "<html>" not in str(caught.value)
    assert_key_hidden(caught.value)
    assert len(polygon.requests) == 3


@pytest.mark.asyncio
async def test_truncated_json_is_retried_and_recovers(polygon: PolygonLoopback) -> None:
    """A truncated JSON body is retried."""
    bars = day_bars(dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    polygon.add_bars("AAPL", 1, "day", bars)
    polygon.inject(Fault.truncated(), times=2)

    async with make_source(polygon) as source:
        table = await collect(source, request(dt.date(2024, 1, 1), dt.date(2024, 1, 31)))

    assert ms(table) == bars["t"].tolist()
    assert len(polygon.requests) == 3


@pytest.mark.asyncio
async def test_persistent_truncated_json_is_a_protocol_error(polygon: PolygonLoopback) -> None:
    """Truncated JSON on every attempt raises SourceProtocolError."""
    polygon.add_bars("AAPL", 1, "day", day_bars(dt.date(2024, 1, 1), dt.date(2024, 1, 31)))
    polygon.inject(Fault.truncated(), times=None)
    async with make_source(polygon) as source:
        with pytest.raises(SourceProtocolError, match="truncated") as caught:
            await collect(source, request(dt.date(2024, 1, 1), dt.date(2024, 1, 31)))
    assert_key_hidden(caught.value)
    assert len(polygon.requests) == 3


@pytest.mark.asyncio
async def test_wrong_shape_is_a_protocol_error(polygon: PolygonLoopback) -> None:
    """Valid JSON of the wrong shape is a protocol error naming the bad field."""
    polygon.inject(Fault.json_error(200, {"status": "OK", "results": [{"t": "soon"}]}), times=None)
    async with make_source(polygon, max_attempts=2) as source:
        with pytest.raises(SourceProtocolError, match=r"results\[0\]"):
            await collect(source, request(dt.date(2024, 1, 1), dt.date(2024, 1, 31)))


@pytest.mark.asyncio
async def test_timeouts_and_refused_connections_are_unavailable(polygon: PolygonLoopback) -> None:
    """Timeouts and refused connections end as SourceUnavailable."""
    polygon.inject(Fault.slow(1.0), times=None)
    async with make_source(polygon, timeout_s=0.1, max_attempts=2) as source:
        with pytest.raises(SourceUnavailable, match="timed out") as caught:
            await collect(source, request(dt.date(2024, 1, 1), dt.date(2024, 1, 31)))
    assert_key_hidden(caught.value)

    with PolygonLoopback(api_key=KEY) as gone:
        base_url = gone.base_url
    async with PolygonRestSource(KEY, base_url=base_url, backoff_base_s=0.001, max_attempts=2) as source:
        with pytest.raises(SourceUnavailable, match="unreachable") as caught:
            await collect(source, request(dt.date(2024, 1, 1), dt.date(2024, 1, 31)))
    assert_key_hidden(caught.value)


@pytest.mark.asyncio
async def test_other_client_errors_carry_the_provider_message_but_never_the_key(
    polygon: PolygonLoopback,
) -> None:
    """Other 4xx carry Polygon's message, with an echoed key masked."""
    echo = {"status": "ERROR", "error": f"Could not parse the request for key {KEY}"}
    polygon.inject(Fault.json_error(400, echo), times=None)
    async with make_source(polygon) as source:
        with pytest.raises(UnsupportedRequest, match="Could not parse the request") as caught:
            await collect(source, request(dt.date(2024, 1, 1), dt.date(2024, 1, 31)))
    assert_key_hidden(caught.value)
    assert len(polygon.requests) == 1

    polygon.clear_faults()
    polygon.inject(Fault.json_error(409, {"status": "ERROR", "message": "conflict"}), times=None)
    async with make_source(polygon) as source:
        with pytest.raises(SourceError, match="HTTP 409: conflict"):
            await collect(source, request(dt.date(2024, 1, 1), dt.date(2024, 1, 31)))


@pytest.mark.asyncio
async def test_one_failing_window_fails_the_fetch(polygon: PolygonLoopback) -> None:
    """The first failing window fails the fetch and stops the rest."""
    polygon.add_bars("AAPL", 1, "minute", minute_bars(dt.date(2024, 3, 1), dt.date(2024, 3, 31)))
    polygon.latency_s = 0.02
    async with make_source(polygon, page_limit=5_000, max_in_flight=2) as source:
        polygon.inject(Fault.not_authorized(), times=None)
        with pytest.raises(PipelineError):
            await collect(source, request(dt.date(2024, 3, 1), dt.date(2024, 3, 31), timespan="minute"))
    assert len(polygon.requests) <= 2  # the first failure cancelled the windows not yet started


@pytest.mark.asyncio
async def test_an_injected_client_is_used_and_left_open(polygon: PolygonLoopback) -> None:
    """An injected client is used and not closed by the source."""
    polygon.add_bars("AAPL", 1, "day", day_bars(dt.date(2024, 1, 1), dt.date(2024, 1, 31)))
    async with httpx.AsyncClient(headers={"User-Agent": "injected"}) as client:
        async with PolygonRestSource(KEY, base_url=polygon.base_url, client=client) as source:
            table = await collect(source, request(dt.date(2024, 1, 1), dt.date(2024, 1, 31)))
        assert not client.is_closed
    assert table.num_rows == 23
    assert polygon.requests[0].headers["user-agent"] == "injected"


@pytest.mark.asyncio
async def test_loopback_pages_descending_and_by_epoch_ms(polygon: PolygonLoopback) -> None:
    """The harness itself: ``sort=desc`` pages walk backwards and ms bounds are inclusive."""
    bars = day_bars(dt.date(2024, 1, 1), dt.date(2024, 2, 29))
    polygon.add_bars("AAPL", 1, "day", bars)
    first, last = int(bars["t"][3]), int(bars["t"][-4])
    url: str | None = f"{polygon.base_url}/v2/aggs/ticker/AAPL/range/1/day/{first}/{last}"
    params: dict[str, Any] = {"sort": "desc", "limit": 7}
    seen: list[int] = []
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}) as client:
        while url:
            # Not ``params=``: httpx would replace next_url's query, cursor included.
            body = (await client.get(httpx.URL(url).copy_merge_params({"adjusted": "true", **params}))).json()
            assert body["status"] == "OK"
            seen += [result["t"] for result in body["results"]]
            url, params = body.get("next_url"), {}
    assert seen == bars["t"][3:-3][::-1].tolist()


@pytest.mark.asyncio
async def test_pages_laid_out_unusually_decode_the_same(polygon: PolygonLoopback) -> None:
    """Pretty-printed JSON, key order and extra fields: the exact decoder takes what the fast one cannot."""
    bars = day_bars(dt.date(2024, 1, 1), dt.date(2024, 1, 12))
    results = [
        {
            "otc": False,
            "n": int(n),
            "t": int(t),
            "v": float(v),
            "vw": float(vw),
            "o": o,
            "h": h,
            "l": low,
            "c": c,
        }
        for t, o, h, low, c, v, vw, n in zip(
            *(bars[k].tolist() for k in "tohlcv"), bars["vw"], bars["n"], strict=True
        )
    ]
    pretty = json.dumps({"status": "OK", "resultsCount": len(results), "results": results}, indent=2).encode()
    polygon.inject(Fault("respond", 200, pretty), times=1)
    polygon.add_bars("AAPL", 1, "day", bars)
    async with make_source(polygon) as source:
        odd = await collect(source, request(dt.date(2024, 1, 1), dt.date(2024, 1, 12)))
        usual = await collect(source, request(dt.date(2024, 1, 1), dt.date(2024, 1, 12)))
    assert odd.equals(usual)
    assert ms(odd) == bars["t"].tolist()
