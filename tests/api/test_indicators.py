"""Indicators over HTTP and the WebSocket: catalog, calculate jobs, events, chart columns, deletion, 422s."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections.abc import AsyncIterator

import httpx
import msgspec
import numpy as np
import polars as pl
import pyarrow as pa
import pytest
import talib

from api.auth.credentials import hash_password
from api.runtime import Runtime
from pipelines.indicators.specs import parse_indicator, stable_index
from pipelines.ingest.sources.synthetic import generate_bars
from schemas.bars import SeriesKey
from tests.api.test_chart_slices import chart
from tests.api.test_events import received, socket
from tests.conftest import app_client, drain_jobs
from tests.pipelines.indicators.test_outputs import direct
from tests.process import serve_app

FETCH = {
    "symbols": ["IDX"],
    "timespan": "minute",
    "from": "2024-03-11",
    "to": "2024-03-13",
    "source": "synthetic",
}
CALCULATE = {"symbol": "IDX", "timeframe": "5m", "indicators": ["rsi(14)", "EMA(timeperiod=20)"]}
TALIB_NAMES = set(talib.get_functions())  # type: ignore[no-untyped-call]
OURS = {"SVWAP", "AVWAP", "RET", "LOGRET", "ZSCORE", "REALVOL"}


@pytest.fixture
async def keys(clean: Runtime) -> dict[str, str]:
    async with clean.stack.pool.connection() as conn:
        await conn.execute("DELETE FROM users WHERE username <> 'admin'")
    found = {}
    for name, role in (("ana", "analyst"), ("vic", "viewer"), ("val", "viewer")):
        await clean.auth.users.create(name, hash_password("a long password"), role)
        found[name] = (await clean.auth.create_key(name, "ind", None, None)).key
    return found


@pytest.fixture
async def server(clean: Runtime) -> AsyncIterator[str]:
    async with serve_app(clean) as address:
        yield address


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_the_catalog_lists_every_ta_lib_function_and_ours(clean: Runtime, keys):
    async with app_client(clean, keys["vic"]) as viewer:
        answer = await viewer.get("/api/v1/indicators/list")
    assert answer.status_code == 200
    items = {item["name"]: item for item in answer.json()}
    assert len(items) == len(TALIB_NAMES) + len(OURS) == 207
    assert TALIB_NAMES | OURS == set(items)
    rsi = items["RSI"]
    assert (rsi["group"], rsi["overlay"], rsi["pane"], rsi["levels"]) == (
        "Momentum Indicators",
        False,
        "own",
        [30, 70],
    )
    assert rsi["parameters"] == [
        {"name": "timeperiod", "display_name": "Time Period", "type": "integer", "default": 14,
         "minimum": 2, "maximum": 10000, "help": "Time period"}
    ]  # fmt: skip
    assert rsi["outputs"] == [{"name": "real", "plot": "line"}]
    assert rsi["lookback"] == 14
    assert rsi["unstable"]
    assert rsi["stable_after"] > 14
    macd = items["MACD"]
    assert [o["plot"] for o in macd["outputs"]] == ["line", "dashed", "histogram"]
    assert macd["levels"] == [0]
    assert items["EMA"]["overlay"]
    assert items["EMA"]["pane"] == "price"
    assert not items["SMA"]["unstable"]
    assert items["SMA"]["stable_after"] == items["SMA"]["lookback"] == 29
    assert items["CDLDOJI"]["pane"] == "markers"
    assert items["CDLDOJI"]["outputs"][0]["plot"] == "markers"
    assert items["MAVP"]["chartable"] is False
    assert "periods" in items["MAVP"]["note"]
    bbands = {p["name"]: p for p in items["BBANDS"]["parameters"]}
    assert bbands["matype"]["type"] == "ma_type"
    assert (
        bbands["matype"]["minimum"],
        bbands["matype"]["maximum"],
    ) == (0, 8)
    assert items["T3"]["parameters"][1]["maximum"] == 1  # vfactor: TA-Lib's own range
    assert items["AVWAP"]["group"] == "K2 Quant"
    assert items["AVWAP"]["parameters"][0]["type"] == "date"
    assert items["AVWAP"]["example"] == "avwap(2024-01-02)"


async def test_a_calculate_job_stores_announces_and_feeds_chart_data(clean: Runtime, server: str, keys):
    async with httpx.AsyncClient(base_url=f"http://{server}", timeout=30) as http:
        fetched = await http.post("/api/v1/stocks/fetch", json=FETCH, headers=auth(keys["ana"]))
        assert fetched.status_code == 202
        await drain_jobs(clean)
        async with (
            socket(server, keys["ana"]) as owner,
            socket(server, keys["vic"]) as watcher,
            socket(server, keys["val"]) as other,
        ):
            await watcher.send(msgspec.json.encode({"action": "subscribe", "symbols": ["IDX"]}).decode())
            assert (await received(watcher, 1.0))[0]["type"] == "subscribed"
            accepted = await http.post(
                "/api/v1/indicators/calculate", json=CALCULATE, headers=auth(keys["ana"])
            )
            assert accepted.status_code == 202, accepted.text
            job = accepted.json()
            assert job["status_url"] == f"/api/v1/jobs/{job['job_id']}"
            await drain_jobs(clean)
            status = (await http.get(job["status_url"], headers=auth(keys["ana"]))).json()
            assert status["state"] == "complete", status
            assert status["kind"] == "indicators"
            assert [entry["symbol"] for entry in status["symbols"]] == CALCULATE["indicators"]
            announced = [e for e in await received(owner) if e["type"] == "indicator_calculated"]
            seen = [e for e in await received(watcher) if e["type"] == "indicator_calculated"]
            assert [e["type"] for e in await received(other)] == []
        assert [e["spec"] for e in announced] == ["rsi(14)", "ema(20)"] == [e["spec"] for e in seen]
        rsi = announced[0]
        buckets = await clean.services.bars.bucket_series(
            SeriesKey.of(symbol="IDX", series="1m", adjusted=True), "5m"
        )
        stamps = buckets.column("ts").cast(pa.int64()).to_pylist()
        assert (rsi["symbol"], rsi["series"], rsi["timeframe"], rsi["session"]) == (
            "IDX",
            "1m",
            "5m",
            "extended",
        )
        assert rsi["rows"] == len(stamps)
        assert rsi["columns"] == ["ind:rsi(14):real"]
        assert rsi["stable_from"] == stamps[stable_index(parse_indicator("rsi(14)"))]
        assert (rsi["job_id"], rsi["owner"], rsi["reused"], rsi["duration_ms"] >= 0) == (
            job["job_id"],
            "ana",
            False,
            True,
        )

        # chart-data reads what the job stored: TA-Lib over every 5-minute bucket from the first bar
        async with app_client(clean, keys["vic"]) as viewer:
            answer, table = await chart(
                viewer,
                symbol="IDX",
                timeframe="5m",
                indicators=["rsi(14)"],
                **{"from": "2024-03-12", "to": "2024-03-12"},
            )
        assert answer.status_code == 200
        closes = np.asarray(buckets.column("close").to_numpy(), dtype=float)
        want = talib.RSI(closes, 14)
        at = np.searchsorted(stamps, table.column("ts").cast(pa.int64()).to_numpy())
        assert table.num_rows > 50
        np.testing.assert_array_equal(
            table.column("ind:rsi(14):real").to_numpy(zero_copy_only=False), want[at]
        )
        field = table.schema.field("ind:rsi(14):real")
        assert field.metadata[b"k2q.stable_from"] == str(rsi["stable_from"]).encode()
        assert (field.metadata[b"k2q.pane"], field.metadata[b"k2q.levels"]) == (b"own", b"[30.0, 70.0]")
        assert field.metadata[b"k2q.series_rows"] == str(len(stamps)).encode()

        # the same request again reuses what is stored
        again = await http.post("/api/v1/indicators/calculate", json=CALCULATE, headers=auth(keys["ana"]))
        async with socket(server, keys["ana"]) as owner:
            await asyncio.sleep(0.2)
            await drain_jobs(clean)
            reused = [e for e in await received(owner) if e["type"] == "indicator_calculated"]
        assert [e["reused"] for e in reused] == [True, True]
        status = (await http.get(again.json()["status_url"], headers=auth(keys["ana"]))).json()
        assert "2 already stored and current" in status["message"]


async def test_deleting_a_dataset_deletes_its_indicator_outputs(client: httpx.AsyncClient, clean: Runtime):
    assert (await client.post("/api/v1/stocks/fetch", json=FETCH)).status_code == 202
    await drain_jobs(clean)
    assert (await client.post("/api/v1/indicators/calculate", json=CALCULATE)).status_code == 202
    await drain_jobs(clean)

    async def stored() -> tuple[int, int]:
        values = await clean.stack.clickhouse.run(
            lambda c: c.query("SELECT count() FROM indicator_values FINAL WHERE symbol = 'IDX'").result_rows
        )
        async with clean.stack.pool.connection() as conn:
            cur = await conn.execute("SELECT count(*) FROM indicator_outputs WHERE symbol = 'IDX'")
            row = await cur.fetchone()
        assert row is not None
        return int(values[0][0]), int(row[0])

    assert (await stored())[0] > 0
    assert (await stored())[1] == 2
    (dataset,) = (await client.get("/api/v1/stocks/tables")).json()
    assert (await client.delete(f"/api/v1/stocks/table/{dataset['table']}")).status_code == 200
    assert await stored() == (0, 0)


async def test_bad_calculate_requests_are_refused_in_words_and_store_nothing(clean: Runtime, keys):
    async with app_client(clean, keys["ana"]) as analyst:
        assert (await analyst.post("/api/v1/stocks/fetch", json=FETCH)).status_code == 202
        await drain_jobs(clean)
        for indicators, words in (
            (["nosuch(3)"], "unknown indicator"),
            (["rsi(timeperiod=1)"], "from 2 to 10000"),
            (["macd(fast=3)"], "has no parameter 'fast'"),
            (["bbands(20, nbdevup=2, 3)"], "positional argument follows a named one"),
            (["avwap"], "needs anchor"),
            (["avwap(2024-13-01)"], "must be a date"),
            (["mavp"], "not a bar column"),
        ):
            answer = await analyst.post(
                "/api/v1/indicators/calculate", json={**CALCULATE, "indicators": indicators}
            )
            assert answer.status_code == 422, (indicators, answer.text)
            assert words in answer.json()["detail"], (indicators, answer.json())
        missing = await analyst.post("/api/v1/indicators/calculate", json={**CALCULATE, "symbol": "NOPE"})
        assert missing.status_code == 404
        both = await analyst.post("/api/v1/indicators/calculate", json={**CALCULATE, "table": "idx"})
        assert both.status_code == 422
    async with app_client(clean, keys["vic"]) as viewer:
        assert (await viewer.post("/api/v1/indicators/calculate", json=CALCULATE)).status_code == 403
    async with clean.stack.pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) FROM jobs WHERE kind = 'indicators'")
        row = await cur.fetchone()
    assert row == (0,)


def minutes_csv(symbol: str, start: dt.date, end: dt.date) -> bytes:
    frame = pl.from_arrow(
        generate_bars(SeriesKey(symbol=symbol, multiplier=1, timespan="minute"), start, end)
    )
    assert isinstance(frame, pl.DataFrame)
    buffer = io.BytesIO()
    frame.write_csv(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("way", ["fetch", "import"])
async def test_bars_a_fetch_or_an_import_adds_extend_the_stored_outputs(
    client: httpx.AsyncClient, clean: Runtime, way: str
):
    services = clean.services
    ref = SeriesKey.of(symbol="EXT", series="1m", adjusted=True)
    spans = ((dt.date(2024, 4, 1), dt.date(2024, 5, 3)), (dt.date(2024, 5, 6), dt.date(2024, 5, 8)))

    async def add(start: dt.date, end: dt.date) -> None:
        if way == "fetch":
            body = {
                "symbols": ["EXT"],
                "timespan": "minute",
                "from": str(start),
                "to": str(end),
                "source": "synthetic",
            }
            assert (await client.post("/api/v1/stocks/fetch", json=body)).status_code == 202
            await drain_jobs(clean)
        else:
            answer = await client.post(
                "/api/v1/stocks/import", params={"symbol": "ext", "timespan": "minute"},
                content=minutes_csv("EXT", start, end), headers={"Content-Type": "text/csv"},
            )  # fmt: skip
            assert answer.status_code == 201, answer.text

    await add(*spans[0])
    specs = [parse_indicator(text) for text in ("rsi(14)", "macd", "obv", "bbands(20,2,2)")]
    first = await services.indicators.current(ref, "15m", "extended", specs)
    assert {state.how for state in first} == {"computed"}
    await add(*spans[1])
    later = await services.indicators.current(ref, "15m", "extended", specs)
    assert {state.how for state in later} == {"extended"}  # from May on, not from April 1
    buckets = await services.bars.bucket_series(ref, "15m")
    for spec, state in zip(specs, later, strict=True):
        ts, values = await services.indicators.read(state, -(2**62), 2**62)
        assert ts.tolist() == buckets.column("ts").cast(pa.int64()).to_pylist()
        for got, want in zip(values, direct(spec, buckets), strict=True):
            scale = float(np.nanmax(np.abs(want)))
            np.testing.assert_allclose(
                got, want, rtol=1e-9, atol=1e-9 * scale, equal_nan=True, err_msg=spec.text
            )
