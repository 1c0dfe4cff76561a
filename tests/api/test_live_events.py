"""Live bars over ``/api/v1/ws``: per-symbol subscriptions, relayed events, server-run Polygon streams."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Iterator

import msgspec
import pytest
from websockets.asyncio.client import ClientConnection, connect

from api.auth.credentials import hash_password
from api.runtime import Runtime
from pipelines.ingest.live import LiveRecorder
from pipelines.ingest.sources.feeds import LiveBars, bars_batch
from tests.conftest import POLYGON_KEY
from tests.loopback.polygon_ws import PolygonWsLoopback, am_event
from tests.process import serve_app

MINUTE = 60_000
T0 = int(dt.datetime(2024, 3, 12, 14, 30, tzinfo=dt.UTC).timestamp() * 1000)


@pytest.fixture
def polygon_ws() -> Iterator[PolygonWsLoopback]:
    with PolygonWsLoopback(api_key=POLYGON_KEY) as server:
        yield server


@pytest.fixture
async def server(clean: Runtime, polygon_ws: PolygonWsLoopback) -> AsyncIterator[str]:
    """The real app under uvicorn, its Polygon stream pointed at the loopback WebSocket."""
    polygon = msgspec.structs.replace(clean.settings.polygon, ws_url=polygon_ws.url)
    runtime = dataclasses.replace(clean, settings=msgspec.structs.replace(clean.settings, polygon=polygon))
    async with serve_app(runtime) as address:
        yield address


@pytest.fixture
async def keys(clean: Runtime) -> dict[str, str]:
    async with clean.stack.pool.connection() as conn:
        await conn.execute("DELETE FROM users WHERE username <> 'admin'")
    found = {}
    for name, role in (("ana", "analyst"), ("vic", "viewer")):
        await clean.auth.users.create(name, hash_password("a long password"), role)
        found[name] = (await clean.auth.create_key(name, "ws", None, None)).key
    return found


def socket(address: str, key: str) -> contextlib.AbstractAsyncContextManager[ClientConnection]:
    return connect(
        f"ws://{address}/api/v1/ws", additional_headers={"Authorization": f"Bearer {key}"}, open_timeout=5
    )


async def ask(ws: ClientConnection, message: dict[str, object]) -> dict[str, object]:
    """Send a client message; return the answer to it (events in between are skipped)."""
    await ws.send(msgspec.json.encode(message).decode())
    while True:
        answer: dict[str, object] = msgspec.json.decode(await asyncio.wait_for(ws.recv(), 30))
        if answer["type"] in ("subscribed", "error"):
            return answer


async def stock_updates(ws: ClientConnection, seconds: float = 0.5) -> list[dict[str, object]]:
    got = []
    with contextlib.suppress(TimeoutError):
        while True:
            event = msgspec.json.decode(await asyncio.wait_for(ws.recv(), seconds))
            if event["type"] == "stock_update":
                got.append(event)
    return got


def bar(ts: int, close: float) -> LiveBars:
    return LiveBars(
        symbol="LIVE",
        bars=bars_batch([ts], [close], [close + 1], [close - 1], [close], [5.0], [None], [None]),
    )


async def test_sockets_get_live_bars_of_the_symbols_they_subscribe_to(
    clean: Runtime, server: str, keys: dict[str, str]
):
    services = clean.services
    live = LiveRecorder(
        services.bars,
        services.catalog,
        services.versions,
        services.publisher,
        source="polygon",
        writer=services.writer,
    )
    await live.prepare(["LIVE"])
    async with socket(server, keys["vic"]) as viewer, socket(server, keys["ana"]) as other:
        assert await ask(viewer, {"action": "subscribe", "symbols": ["live", "MSFT"]}) == {
            "type": "subscribed",
            "symbols": ["LIVE", "MSFT"],
            "streaming": [],
        }
        assert (await ask(other, {"action": "subscribe", "symbols": ["MSFT"]}))["symbols"] == ["MSFT"]
        await live.record([bar(T0, 100.0)])
        got = await stock_updates(viewer)
        assert [(e["symbol"], e["ts"], e["close"], e["closed"]) for e in got] == [("LIVE", T0, 100.0, True)]
        assert got[0]["source"] == "polygon"
        assert got[0]["series"] == ["1m"]
        assert await stock_updates(other) == []

        assert (await ask(viewer, {"action": "unsubscribe", "symbols": ["LIVE"]}))["symbols"] == ["MSFT"]
        await live.record([bar(T0 + MINUTE, 101.0)])
        assert await stock_updates(viewer) == []


async def test_bad_client_messages_are_answered_and_the_socket_stays_open(server: str, keys: dict[str, str]):
    async with socket(server, keys["vic"]) as ws:
        assert (await ask(ws, {"action": "dance"}))["type"] == "error"
        assert (await ask(ws, {"action": "subscribe", "symbols": ["AAPL; rm -rf /"]}))["type"] == "error"
        assert (await ask(ws, {"action": "subscribe", "symbols": []}))["type"] == "error"
        too_many = {"action": "subscribe", "symbols": [f"S{i}" for i in range(101)]}
        assert (await ask(ws, too_many))["type"] == "error"
        refused = await ask(ws, {"action": "subscribe", "symbols": ["AAPL"], "stream": True})
        assert refused == {"type": "error", "detail": "streaming from Polygon needs the analyst role"}
        assert (await ask(ws, {"action": "subscribe", "symbols": ["AAPL"]}))["symbols"] == ["AAPL"]


async def test_an_analyst_socket_has_the_server_stream_polygon_while_it_is_open(
    clean: Runtime, server: str, keys: dict[str, str], polygon_ws: PolygonWsLoopback
):
    async with socket(server, keys["ana"]) as ws, socket(server, keys["vic"]) as watcher:
        answer = await ask(ws, {"action": "subscribe", "symbols": ["AAPL"], "stream": True})
        assert answer == {"type": "subscribed", "symbols": ["AAPL"], "streaming": ["AAPL"]}
        await ask(watcher, {"action": "subscribe", "symbols": ["AAPL"]})
        await polygon_ws.until(lambda: polygon_ws.subscribed() == {"AM.AAPL"})
        now = dt.datetime.now(dt.UTC)
        minute = int(now.timestamp() * 1000) // MINUTE * MINUTE - MINUTE
        polygon_ws.push([am_event("AAPL", minute, 190.25, open_=190.0, volume=1234)])
        for client in (ws, watcher):
            (event,) = await stock_updates(client, 5)
            assert (event["symbol"], event["ts"], event["close"], event["volume"]) == (
                "AAPL",
                minute,
                190.25,
                1234,
            )
            assert event["source"] == "polygon"
        tables = {d.table: d for d in await clean.services.catalog.for_symbol("AAPL")}
        (dataset,) = tables.values()
        assert dataset.table.startswith("aapl_1minute_")
        assert dataset.table.endswith("_live")
        assert dataset.total_records == 1
        assert dataset.source == "polygon"
    # The socket is gone, so is the lease: the server closes its Polygon stream.
    await polygon_ws.until(lambda: polygon_ws.subscribed() == set())


async def test_streaming_a_symbol_stored_from_another_source_is_refused_in_words(
    clean: Runtime, server: str, keys: dict[str, str], polygon_ws: PolygonWsLoopback
):
    services = clean.services
    demo = LiveRecorder(
        services.bars,
        services.catalog,
        services.versions,
        services.publisher,
        source="synthetic",
        writer=services.writer,
    )
    await demo.prepare(["DEMO"])
    await demo.record([LiveBars(symbol="DEMO", bars=bar(T0, 10.0).bars)])
    async with socket(server, keys["ana"]) as ws:
        answer = await ask(ws, {"action": "subscribe", "symbols": ["DEMO"], "stream": True})
    assert answer["type"] == "error"
    assert "DEMO minute bars are stored from synthetic" in str(answer["detail"])
    assert polygon_ws.connections == 0
