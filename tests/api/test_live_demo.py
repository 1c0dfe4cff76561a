"""``k2q up`` without a Polygon key runs a synthetic live feed for the demo symbols (unless turned off)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from pathlib import Path

import httpx
import msgspec
from websockets.asyncio.client import connect

from tests.process import running_up


async def updates(url: str, key: str, symbols: list[str], count: int) -> list[dict[str, object]]:
    """The first ``count`` stock updates of ``symbols`` a socket receives."""
    got: list[dict[str, object]] = []
    headers = {"Authorization": f"Bearer {key}"}
    async with connect(url.replace("http://", "ws://") + "/api/v1/ws", additional_headers=headers) as ws:
        await ws.send(msgspec.json.encode({"action": "subscribe", "symbols": symbols}).decode())
        while len(got) < count:
            event = msgspec.json.decode(await asyncio.wait_for(ws.recv(), 30))
            if event["type"] == "stock_update":
                got.append(event)
    return got


def test_up_runs_a_synthetic_live_feed_for_the_demo(tmp_path: Path):
    with running_up(tmp_path / "data", K2Q_LIVE_DEMO="1") as server:
        tables = httpx.get(f"{server.url}/api/v1/stocks/tables", headers=server.headers(), timeout=10).json()
        by_name = {t["table"]: t for t in tables}
        assert {t["source"] for t in tables} == {"synthetic"}
        # SYNTH has no minute history: its live bars (since New York midnight) get a dataset of their own;
        # DEMO's minute dataset is extended to now.
        (synth,) = [t for t in tables if t["symbol"] == "SYNTH" and t["timespan"] == "minute"]
        assert synth["table"].endswith("_live")
        assert synth["total_records"] > 0
        (demo,) = [t for t in tables if t["symbol"] == "DEMO" and t["timespan"] == "minute"]
        assert not demo["table"].endswith("_live")
        last = demo["last_bar"]
        assert last is not None
        assert abs(time.time() - _epoch(last)) < 3 * 60  # caught up to the current minute at start

        got = asyncio.run(updates(server.url, server.admin_key, ["DEMO", "SYNTH"], 4))
        assert {e["symbol"] for e in got} == {"DEMO", "SYNTH"}
        assert {e["source"] for e in got} == {"synthetic"}
        assert all(e["series"] == ["1m", "1d"] for e in got)
        again = httpx.get(f"{server.url}/api/v1/stocks/tables", headers=server.headers(), timeout=10).json()
        assert {t["table"] for t in again} == set(by_name)  # live bars extend datasets; no new ones


def test_the_live_demo_can_be_turned_off(tmp_path: Path):
    with running_up(tmp_path / "data", K2Q_LIVE_DEMO="0") as server:
        tables = httpx.get(f"{server.url}/api/v1/stocks/tables", headers=server.headers(), timeout=10).json()
        assert not [t for t in tables if t["table"].endswith("_live")]
        with contextlib.suppress(TimeoutError):
            got = asyncio.run(asyncio.wait_for(updates(server.url, server.admin_key, ["DEMO"], 1), 5))
            raise AssertionError(f"live bars arrived with the feed off: {got}")


def _epoch(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
