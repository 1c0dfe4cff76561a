"""The fetch path and the dataset endpoints, end to end through the queue and the real stores."""

from __future__ import annotations

import datetime as dt

import httpx
import numpy as np
import pyarrow as pa

from api.runtime import Runtime
from pipelines.ingest.sources.synthetic import generate_bars
from schemas.bars import ARROW_STREAM_MEDIA_TYPE, SeriesKey
from tests.conftest import drain_jobs
from tests.loopback.polygon import Fault, PolygonLoopback

SYNTHETIC_FETCH = {
    "symbols": ["abc", "XYZ"],
    "timespan": "minute",
    "multiplier": 5,
    "from": "2024-03-04",
    "to": "2024-03-15",
    "source": "synthetic",
}


async def fetch(client: httpx.AsyncClient, runtime: Runtime, body: dict[str, object]) -> dict[str, object]:
    answer = await client.post("/api/v1/stocks/fetch", json=body)
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert (await client.get(accepted["status_url"])).json()["state"] == "queued"
    await drain_jobs(runtime)
    status = (await client.get(accepted["status_url"])).json()
    assert isinstance(status, dict)
    return status


async def test_fetch_registers_datasets_and_refetch_stores_each_bar_once(client, clean):
    status = await fetch(client, clean, SYNTHETIC_FETCH)
    assert status["state"] == "complete", status
    assert [item["symbol"] for item in status["symbols"]] == ["ABC", "XYZ"]
    tables = (await client.get("/api/v1/stocks/tables")).json()
    assert {t["table"] for t in tables} == {
        "abc_5minute_2024-03-04_2024-03-15",
        "xyz_5minute_2024-03-04_2024-03-15",
    }
    abc = next(t for t in tables if t["symbol"] == "ABC")
    expected = generate_bars(
        SeriesKey(symbol="ABC", multiplier=5, timespan="minute"), dt.date(2024, 3, 4), dt.date(2024, 3, 15)
    )
    assert abc["total_records"] == expected.num_rows > 0
    assert abc["source"] == "synthetic"
    assert abc["date_range"] == {"from": "2024-03-04", "to": "2024-03-15"}
    assert abc["first_bar"].startswith("2024-03-04T09:00")  # 04:00 New York, before DST

    again = await fetch(client, clean, SYNTHETIC_FETCH)
    assert again["state"] == "complete"
    tables_again = (await client.get("/api/v1/stocks/tables")).json()
    assert [t["total_records"] for t in tables_again] == [t["total_records"] for t in tables]
    distinct = await clean.stack.clickhouse.run(
        lambda c: c.query("SELECT count() FROM bars FINAL WHERE symbol = 'ABC'").result_rows[0][0]
    )
    assert distinct == expected.num_rows


async def test_fetch_from_polygon_through_the_queue(client, clean, polygon: PolygonLoopback):
    n = 12_000  # spans several request windows at minute resolution
    start = int(dt.datetime(2024, 1, 2, 9, 0, tzinfo=dt.UTC).timestamp() * 1000)
    ts = start + np.arange(n, dtype=np.int64) * 60_000 * 7
    price = 100 + np.cumsum(np.random.default_rng(7).normal(0, 0.05, n))
    bars = pa.table(
        {
            "ts": pa.array(ts, pa.timestamp("ms", tz="UTC")),
            "open": price,
            "high": price + 0.1,
            "low": price - 0.1,
            "close": price + 0.01,
            "volume": np.full(n, 1000.0),
            "vwap": price,
            "transactions": pa.array(np.full(n, 10), pa.uint32()),
        }
    )
    polygon.add_bars("BRK.A", 1, "minute", bars, adjusted=False)
    body = {
        "symbols": ["BRK.A"],
        "timespan": "minute",
        "from": "2024-01-01",
        "to": "2024-03-31",
        "adjusted": False,
        "source": "polygon",
    }
    polygon.inject(Fault.rate_limited(retry_after=0), times=2)
    status = await fetch(client, clean, body)
    assert status["state"] == "complete", status
    table = status["symbols"][0]["table"]
    assert table == "brk-a_1minute_2024-01-01_2024-03-31_raw"
    dataset = (await client.get("/api/v1/stocks/tables")).json()[0]
    in_range = int(np.sum(ts <= int(dt.datetime(2024, 4, 1, 4, 0, tzinfo=dt.UTC).timestamp() * 1000)))
    assert dataset["total_records"] == in_range
    assert dataset["adjusted"] is False
    assert not polygon.missing_adjusted
    page = (await client.get(f"/api/v1/stocks/data/{table}", params={"offset": 0, "limit": 3})).json()
    assert page["total"] == in_range
    assert [row["open"] for row in page["rows"]] == list(price[:3])


async def test_polygon_auth_failure_fails_the_job_and_keeps_stored_bars(client, clean, polygon):
    await fetch(client, clean, SYNTHETIC_FETCH)
    before = (await client.get("/api/v1/stocks/tables")).json()
    polygon.inject(Fault.not_authorized(), times=None)
    status = await fetch(client, clean, {**SYNTHETIC_FETCH, "symbols": ["MSFT"], "source": "polygon"})
    assert status["state"] == "failed"
    assert "MSFT" in status["error"]
    assert "loopback-key" not in status["error"]
    assert (await client.get("/api/v1/stocks/tables")).json() == before


async def test_data_pages_and_delete(client, clean):
    await fetch(client, clean, SYNTHETIC_FETCH)
    table = "abc_5minute_2024-03-04_2024-03-15"
    first = (await client.get(f"/api/v1/stocks/data/{table}", params={"limit": 10})).json()
    second = (await client.get(f"/api/v1/stocks/data/{table}", params={"offset": 10, "limit": 10})).json()
    assert len(first["rows"]) == len(second["rows"]) == 10
    assert first["rows"][-1]["ts"] < second["rows"][0]["ts"]
    total = first["total"]

    deleted = await client.delete(f"/api/v1/stocks/table/{table}")
    assert deleted.status_code == 200
    assert deleted.json() == {"table": table, "bars_deleted": total}
    assert (await client.get(f"/api/v1/stocks/data/{table}")).status_code == 404
    assert [t["symbol"] for t in (await client.get("/api/v1/stocks/tables")).json()] == ["XYZ"]


async def test_delete_keeps_bars_another_dataset_covers(client, clean):
    await fetch(client, clean, {**SYNTHETIC_FETCH, "symbols": ["ABC"]})
    await fetch(
        client, clean, {**SYNTHETIC_FETCH, "symbols": ["ABC"], "from": "2024-03-11", "to": "2024-03-22"}
    )
    wide = (await client.get("/api/v1/stocks/tables")).json()
    later = next(t for t in wide if t["date_range"]["from"] == "2024-03-11")
    await client.delete("/api/v1/stocks/table/abc_5minute_2024-03-04_2024-03-15")
    page = (await client.get(f"/api/v1/stocks/data/{later['table']}", params={"limit": 10_000})).json()
    assert len(page["rows"]) == later["total_records"]


async def test_chart_data_arrow_and_json(client, clean):
    await fetch(client, clean, SYNTHETIC_FETCH)
    body = {"symbol": "ABC", "timeframe": "15m", "from": "2024-03-05", "to": "2024-03-05"}
    arrow = await client.post("/api/v1/stocks/chart-data", json=body)
    assert arrow.status_code == 200
    assert arrow.headers["content-type"] == ARROW_STREAM_MEDIA_TYPE
    assert arrow.headers["x-k2q-bucket"] == "15m"
    assert arrow.headers["x-k2q-source-series"] == "5m"
    table = pa.ipc.open_stream(arrow.content).read_all()
    assert table.schema.names[:6] == ["ts", "open", "high", "low", "close", "volume"]
    assert table.schema.field("ts").type == pa.timestamp("ms", tz="UTC")
    assert table.schema.metadata[b"k2q.bucket"] == b"15m"
    raw = (
        await client.get("/api/v1/stocks/data/abc_5minute_2024-03-04_2024-03-15", params={"limit": 10_000})
    ).json()
    day = [r for r in raw["rows"] if r["ts"].startswith("2024-03-05")]
    assert table.column("volume").to_numpy().sum() == sum(r["volume"] for r in day)

    as_json = await client.post(
        "/api/v1/stocks/chart-data", json=body, headers={"accept": "application/json"}
    )
    assert as_json.headers["content-type"].startswith("application/json")
    bars = as_json.json()["bars"]
    assert [b["ts"] for b in bars] == table.column("ts").cast(pa.int64()).to_pylist()
    assert as_json.json()["meta"]["bucket"] == "15m"


async def test_chart_data_bad_input_gets_problem_details(client, clean):
    await fetch(client, clean, SYNTHETIC_FETCH)
    cases = [
        ({"symbol": "ABC", "timeframe": "7m"}, 422),
        ({"symbol": "ABC", "timeframe": "1d", "max_points": 0}, 422),
        ({"symbol": "ABC", "table": "abc_5minute_2024-03-04_2024-03-15"}, 422),
        ({"timeframe": "1d"}, 422),
        ({"symbol": "ABC", "from": "2024-03-10", "to": "2024-03-01"}, 422),
        ({"symbol": "ABC", "from": "yesterday"}, 422),
        ({"symbol": "ABC'; DROP TABLE bars; --"}, 422),
        ({"table": "../../etc/passwd"}, 422),
        ({"table": "abc_5minute_2024-03-04_2024-03-15", "adjusted": False}, 422),
        ({"table": "abc_5minute_2024-03-04_2024-03-15", "adjusted": True}, 200),
        ({"symbol": "ABC", "adjusted": False}, 404),
        ({"symbol": "NOPE"}, 404),
        ({"table": "no_such_table"}, 404),
        ({"symbol": "ABC", "timeframe": "1m"}, 200),
    ]
    for body, status in cases:
        answer = await client.post("/api/v1/stocks/chart-data", json=body)
        assert answer.status_code == status, (body, answer.text)
        if status >= 400:
            problem = answer.json()
            assert answer.headers["content-type"] == "application/problem+json"
            assert problem["status"] == status, problem
            assert problem["title"], problem
            assert problem["detail"], problem
    count = await clean.stack.clickhouse.run(lambda c: c.query("SELECT count() FROM bars").result_rows[0][0])
    assert count > 0


async def test_fetch_bad_input(client, clean):
    bad = [
        {**SYNTHETIC_FETCH, "timespan": "fortnight"},
        {**SYNTHETIC_FETCH, "from": "2024-13-01"},
        {**SYNTHETIC_FETCH, "from": "2024-03-20", "to": "2024-03-01"},
        {**SYNTHETIC_FETCH, "symbols": []},
        {**SYNTHETIC_FETCH, "symbols": ["AAPL; rm -rf /"]},
        {**SYNTHETIC_FETCH, "multiplier": 0},
        {**SYNTHETIC_FETCH, "source": "yahoo"},
        {**SYNTHETIC_FETCH, "unknown": 1},
    ]
    for body in bad:
        answer = await client.post("/api/v1/stocks/fetch", json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["detail"]
    assert (await client.get("/api/v1/stocks/tables")).json() == []
    assert (await client.get("/api/v1/jobs/" + "0" * 32)).status_code == 404
    assert (await client.get("/api/v1/jobs/not-a-job")).status_code in (400, 404, 422)


async def test_synthetic_and_polygon_bars_never_mix(client, clean, polygon):
    await fetch(client, clean, {**SYNTHETIC_FETCH, "symbols": ["ABC"]})
    status = await fetch(client, clean, {**SYNTHETIC_FETCH, "symbols": ["ABC"], "source": "polygon"})
    assert status["state"] == "failed"
    assert "synthetic" in status["symbols"][0]["error"]


async def test_health_and_ready(client):
    assert (await client.get("/health")).json()["ok"] is True
    ready = (await client.get("/ready")).json()
    assert ready["ok"] is True
    assert set(ready["stores"]) == {"clickhouse", "postgres", "redis"}
    assert all(store["ok"] and store["mode"] == "embedded" for store in ready["stores"].values())
