"""The Polygon stocks WebSocket client against a loopback server speaking the documented protocol."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterator

import pyarrow as pa
import pytest

from pipelines.errors import SourceAuthError, SourceUnavailable
from pipelines.ingest.sources.feeds import LiveBars
from pipelines.ingest.sources.polygon_rest import PolygonRestSource
from pipelines.ingest.sources.polygon_ws import PolygonStream, decode_message
from schemas.bars import BAR_ARROW_SCHEMA
from tests.conftest import POLYGON_KEY
from tests.loopback.polygon import PolygonLoopback
from tests.loopback.polygon_ws import PolygonWsLoopback, am_event

T0 = int(dt.datetime(2024, 3, 12, 14, 30, tzinfo=dt.UTC).timestamp() * 1000)  # 10:30 New York
MINUTE = 60_000


@pytest.fixture
def ws() -> Iterator[PolygonWsLoopback]:
    with PolygonWsLoopback(api_key=POLYGON_KEY) as server:
        yield server


@pytest.fixture
def rest(polygon: PolygonLoopback) -> PolygonLoopback:
    polygon.reset()
    return polygon


def clock_at(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def stream(ws: PolygonWsLoopback, symbols: list[str], **options: object) -> PolygonStream:
    defaults: dict[str, object] = {"url": ws.url, "backoff_base_s": 0.01, "max_backoff_s": 0.05}
    return PolygonStream(POLYGON_KEY, symbols, **(defaults | options))


async def take(updates: AsyncIterator[list[LiveBars]], count: int = 1) -> list[list[LiveBars]]:
    got = []
    for _ in range(count):
        got.append(await asyncio.wait_for(anext(updates), 10))
    return got


def rows(item: LiveBars) -> list[dict[str, object]]:
    return pa.Table.from_batches([item.bars]).to_pylist()


async def test_authenticates_subscribes_and_decodes_minute_aggregates(ws: PolygonWsLoopback):
    statuses: list[str] = []
    client = stream(ws, ["msft", "AAPL"], on_status=statuses.append)
    updates = client.updates({})
    first = asyncio.ensure_future(anext(updates))
    await ws.until(lambda: ws.subscribed() == {"AM.AAPL", "AM.MSFT"})
    ws.push(
        [
            am_event(
                "AAPL", T0 + MINUTE, 189.5, open_=189.2, high=189.7, low=189.1, volume=4110, vwap=189.41
            ),
            am_event("AAPL", T0, 189.2, volume=2000),
            am_event("MSFT", T0, 410.0),
        ]
    )
    batch = await asyncio.wait_for(first, 10)
    await updates.aclose()

    assert ws.received[0] == {"action": "auth", "params": POLYGON_KEY}
    assert ws.received[1] == {"action": "subscribe", "params": "AM.AAPL,AM.MSFT"}
    by_symbol = {item.symbol: item for item in batch}
    assert set(by_symbol) == {"AAPL", "MSFT"}
    aapl = by_symbol["AAPL"]
    assert aapl.closed
    assert not aapl.backfill
    assert aapl.bars.schema == BAR_ARROW_SCHEMA
    assert [int(r["ts"].timestamp() * 1000) for r in rows(aapl)] == [T0, T0 + MINUTE]
    latest = rows(aapl)[1]
    assert (latest["open"], latest["high"], latest["low"], latest["close"]) == (189.2, 189.7, 189.1, 189.5)
    assert (latest["volume"], latest["vwap"], latest["transactions"]) == (4110, 189.41, None)
    assert client.seen["AAPL"] == T0 + MINUTE
    assert any("connected to" in line for line in statuses)
    assert any("subscribed to: AM.AAPL" in line for line in statuses)
    assert all(POLYGON_KEY not in line for line in statuses)


async def test_a_refused_key_fails_at_once_without_reconnecting(ws: PolygonWsLoopback):
    client = PolygonStream("not-the-key", ["AAPL"], url=ws.url, backoff_base_s=0.01)
    with pytest.raises(SourceAuthError) as refused:
        await asyncio.wait_for(anext(client.updates({})), 10)
    assert "authentication failed" in str(refused.value)
    assert "not-the-key" not in str(refused.value)
    assert ws.connections == 1


async def test_reconnects_with_backoff_and_backfills_the_missed_minutes_over_rest(
    ws: PolygonWsLoopback, rest: PolygonLoopback
):
    now = T0 + 6 * MINUTE + 30_000  # 10:36:30: the 10:35 minute is closed, 10:36 is not
    statuses: list[str] = []
    async with PolygonRestSource(POLYGON_KEY, base_url=rest.base_url) as source:
        client = stream(ws, ["AAPL"], rest=source, clock=lambda: clock_at(now), on_status=statuses.append)
        updates = client.updates({})
        first = asyncio.ensure_future(anext(updates))
        await ws.until(lambda: ws.subscribed() == {"AM.AAPL"})
        ws.push([am_event("AAPL", T0, 100.0)])
        assert rows((await asyncio.wait_for(first, 10))[0])[0]["close"] == 100.0

        # While the connection is down, Polygon's REST API holds the minutes the stream missed
        # (and the one already seen, and the minute still running, which must not be delivered).
        missed = [T0 + k * MINUTE for k in range(0, 7)]
        rest.add_bars(
            "AAPL",
            1,
            "minute",
            {
                "t": missed,
                "o": [100.0 + k for k in range(7)],
                "h": [101.0 + k for k in range(7)],
                "l": [99.0 + k for k in range(7)],
                "c": [100.5 + k for k in range(7)],
                "v": [1000.0] * 7,
            },
        )
        assert ws.drop() == 1
        backfill = (await take(updates))[0]
        assert ws.connections == 2
        assert client.reconnects == 1
        assert [item.symbol for item in backfill] == ["AAPL"]
        assert backfill[0].backfill
        assert backfill[0].closed
        got = [int(r["ts"].timestamp() * 1000) for r in rows(backfill[0])]
        assert got == missed[1:6]
        assert rows(backfill[0])[-1]["close"] == 105.5
        request = rest.requests[-1]
        assert request.headers["authorization"] == f"Bearer {POLYGON_KEY}"
        assert "/range/1/minute/2024-03-12/2024-03-12" in request.path

        await ws.until(lambda: ws.subscribed() == {"AM.AAPL"})
        ws.push([am_event("AAPL", T0 + 6 * MINUTE, 106.0)])
        live = (await take(updates))[0]
        assert rows(live[0])[0]["close"] == 106.0
        assert not live[0].backfill
        await updates.aclose()
    assert ws.received.count({"action": "auth", "params": POLYGON_KEY}) == 2
    assert any("reconnecting in" in line for line in statuses)
    assert any("backfilled 5 missed minute(s)" in line for line in statuses)


async def test_first_connection_backfills_since_the_last_stored_bar_within_the_limit(
    ws: PolygonWsLoopback, rest: PolygonLoopback
):
    rest.add_bars(
        "MSFT",
        1,
        "minute",
        {
            "t": [T0 - MINUTE, T0, T0 + MINUTE],
            "o": [1.0] * 3,
            "h": [1.0] * 3,
            "l": [1.0] * 3,
            "c": [1.0] * 3,
            "v": [5.0] * 3,
        },
    )
    async with PolygonRestSource(POLYGON_KEY, base_url=rest.base_url) as source:
        client = stream(ws, ["MSFT"], rest=source, clock=lambda: clock_at(T0 + 3 * MINUTE))
        updates = client.updates({"MSFT": T0 - MINUTE, "OTHER": T0})
        batch = (await take(updates))[0]
        await updates.aclose()
    assert [item.symbol for item in batch] == ["MSFT"]
    assert [int(r["ts"].timestamp() * 1000) for r in rows(batch[0])] == [T0, T0 + MINUTE]


async def test_gives_up_after_max_attempts_when_nothing_listens():
    with PolygonWsLoopback() as gone:
        url = gone.url
    client = PolygonStream(POLYGON_KEY, ["AAPL"], url=url, backoff_base_s=0.01, max_attempts=3)
    with pytest.raises(SourceUnavailable) as failed:
        await asyncio.wait_for(anext(client.updates({})), 10)
    assert "after 3 attempts" in str(failed.value)


def test_decode_message_keeps_known_events_and_skips_others():
    statuses, minutes = decode_message(
        b'[{"ev":"status","status":"success","message":"subscribed to: AM.AAPL"},'
        b'{"ev":"T","sym":"AAPL","p":1.0},'
        b'{"ev":"AM","sym":"AAPL","v":10,"o":1,"c":2,"h":3,"l":0.5,"s":1000,"e":61000,"otc":false}]'
    )
    assert [s.status for s in statuses] == ["success"]
    assert [(m.sym, m.low, m.vw) for m in minutes] == [("AAPL", 0.5, None)]
    single, _ = decode_message('{"ev":"status","status":"connected","message":"Connected Successfully"}')
    assert single[0].status == "connected"
