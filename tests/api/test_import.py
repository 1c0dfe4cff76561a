"""``POST /api/v1/stocks/import`` over the real app and stores: uploads, rejections, limits, roles."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pyarrow.parquet as pq
import pytest
from litestar import Litestar, Request, post

from api.auth.credentials import hash_password
from api.errors import problem_details_plugin
from api.routes.imports import spooled_body
from api.runtime import Runtime
from pipelines.ingest.sources.synthetic import generate_bars
from schemas.bars import SeriesKey
from schemas.imports import MAX_IMPORT_BYTES
from tests.conftest import app_client, drain_jobs
from tests.loopback.polygon import Fault, PolygonLoopback

MINUTES = generate_bars(
    SeriesKey(symbol="UPL", multiplier=1, timespan="minute"), dt.date(2024, 5, 6), dt.date(2024, 5, 8)
)
TABLE = "upl_1minute_2024-05-06_2024-05-08"
QUERY = {"symbol": "upl", "timespan": "minute"}


def csv_bytes() -> bytes:
    frame = pl.from_arrow(MINUTES)
    assert isinstance(frame, pl.DataFrame)
    buffer = io.BytesIO()
    frame.rename({"ts": "Timestamp", "volume": "Vol"}).write_csv(buffer)
    return buffer.getvalue()


@pytest.fixture
async def analyst_key(clean: Runtime) -> str:
    users = clean.auth.users
    if await users.by_name("importer") is None:
        await users.create("importer", hash_password("correct horse battery"), "analyst")
    return (await clean.auth.create_key("importer", "tests", None, None)).key


@pytest.fixture
async def viewer_key(clean: Runtime) -> str:
    users = clean.auth.users
    if await users.by_name("looker") is None:
        await users.create("looker", hash_password("correct horse battery"), "viewer")
    return (await clean.auth.create_key("looker", "tests", None, None)).key


async def test_an_analyst_imports_a_csv_and_charts_it(clean, analyst_key, admin_key):
    async with app_client(clean, analyst_key) as http:
        answer = await http.post(
            "/api/v1/stocks/import", params=QUERY, content=csv_bytes(), headers={"Content-Type": "text/csv"}
        )
        assert answer.status_code == 201, answer.text
        result = answer.json()
        assert result["dataset"]["table"] == TABLE
        assert result["dataset"]["source"] == "file"
        assert result["dataset"]["total_records"] == MINUTES.num_rows
        assert result["summary"]["format"] == "csv"
        assert result["summary"]["columns"]["volume"] == "Vol"
        assert (
            result["summary"]["timestamps"]
            == "ISO-8601 date-times; those without an offset in America/New_York"
        )

        tables = (await http.get("/api/v1/stocks/tables")).json()
        assert [(t["table"], t["source"]) for t in tables] == [(TABLE, "file")]
        chart = await http.post(
            "/api/v1/stocks/chart-data",
            json={"table": TABLE, "timeframe": "1h", "max_points": 500},
            headers={"Accept": "application/json"},
        )
        assert chart.status_code == 200, chart.text
        bars = chart.json()["bars"]
        assert sum(bar["volume"] for bar in bars) == pytest.approx(sum(MINUTES.column("volume").to_pylist()))
        page = (await http.get(f"/api/v1/stocks/data/{TABLE}", params={"limit": 5})).json()
        assert page["total"] == MINUTES.num_rows

        again = await http.post("/api/v1/stocks/import", params=QUERY, content=csv_bytes())
        assert again.status_code == 201
        assert again.json()["dataset"]["total_records"] == MINUTES.num_rows

    async with app_client(clean, admin_key) as admin:
        audit = (
            await admin.get("/api/v1/admin/audit", params={"action": "POST /api/v1/stocks/import"})
        ).json()
    assert [(e["outcome"], e["status"]) for e in audit] == [("ok", 201), ("ok", 201)]


async def test_parquet_upload_with_options(clean, analyst_key):
    naive = pl.from_arrow(MINUTES)
    assert isinstance(naive, pl.DataFrame)
    naive = naive.with_columns(pl.col("ts").dt.replace_time_zone(None))  # UTC wall-clock times
    buffer = io.BytesIO()
    naive.write_parquet(buffer)
    async with app_client(clean, analyst_key) as http:
        answer = await http.post(
            "/api/v1/stocks/import",
            params={**QUERY, "tz": "UTC", "adjusted": "false"},
            content=buffer.getvalue(),
        )
    assert answer.status_code == 201, answer.text
    assert answer.json()["dataset"]["table"] == f"{TABLE}_raw"
    assert answer.json()["dataset"]["adjusted"] is False
    assert answer.json()["summary"]["first_bar"] == "2024-05-06T08:00:00Z"  # 04:00 New York


async def test_a_bad_file_is_answered_with_its_lines_and_stores_nothing(clean, analyst_key):
    text = csv_bytes().decode().splitlines()
    text[3] = text[3].replace(",", ",oops", 1)  # line 4: the open is not a number
    text[7] = "2024-05-06 09:30:00,1,1,2,1,5,1,1"  # line 8: high below low
    async with app_client(clean, analyst_key) as http:
        answer = await http.post("/api/v1/stocks/import", params=QUERY, content="\n".join(text).encode())
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        body = answer.json()
        assert body["problem_count"] == 2
        assert body["format"] == "csv"
        assert [(p["line"], p["column"]) for p in body["problems"]] == [(4, "open"), (8, "high/low")]
        assert body["problems"][1]["message"] == "high 1 is below low 2"
        assert "nothing was stored" in body["detail"]
        assert (await http.get("/api/v1/stocks/tables")).json() == []


async def test_bad_requests(clean, analyst_key):
    async with app_client(clean, analyst_key) as http:
        for params in (
            {"symbol": "upl", "timespan": "week"},
            {**QUERY, "tz": "Mars/Base"},
            {"timespan": "day"},
        ):
            answer = await http.post("/api/v1/stocks/import", params=params, content=csv_bytes())
            assert answer.status_code in (400, 422), (params, answer.text)
        form = await http.post(
            "/api/v1/stocks/import", params=QUERY, files={"file": ("bars.csv", csv_bytes())}
        )
        assert form.status_code == 415
        assert "not as multipart" in form.json()["detail"]
        empty = await http.post("/api/v1/stocks/import", params=QUERY, content=b"")
        assert empty.status_code == 422
        assert empty.json()["problems"] == [{"line": None, "column": None, "message": "the file is empty"}]


async def test_viewers_and_strangers_may_not_import(clean, viewer_key):
    async with app_client(clean, viewer_key) as http:
        answer = await http.post("/api/v1/stocks/import", params=QUERY, content=csv_bytes())
        assert answer.status_code == 403
    async with app_client(clean) as anonymous:
        assert (await anonymous.post("/api/v1/stocks/import", params=QUERY, content=b"x")).status_code == 401


async def test_a_body_over_the_limit_is_refused_before_it_is_read(clean, analyst_key):
    async with app_client(clean, analyst_key) as http:
        request = http.build_request("POST", "/api/v1/stocks/import", params=QUERY, content=b"time,open\n")
        request.headers["Content-Length"] = str(MAX_IMPORT_BYTES + 1)
        answer = await http.send(request)
    assert answer.status_code == 413, answer.text
    assert "at most 512 MiB" in answer.json()["detail"]


async def test_the_spool_stops_a_stream_past_its_limit_and_cleans_up(tmp_path):
    """A chunked body (no Content-Length) is cut off once it passes the limit."""
    seen: list[Path] = []

    @post("/up", opt={"public": True}, request_max_body_size=None, status_code=200)
    async def up(request: Request[Any, Any, Any]) -> int:
        async with spooled_body(request, limit=10_000) as path:
            seen.append(path)
            return path.stat().st_size

    async def body(chunks: int) -> AsyncIterator[bytes]:
        for _ in range(chunks):
            yield b"x" * 4096

    app = Litestar([up], plugins=[problem_details_plugin()])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        assert (await http.post("/up", content=body(2))).json() == 8192
        refused = await http.post("/up", content=body(5))
    assert refused.status_code == 413
    assert "larger than 10,000 bytes" in refused.json()["detail"]
    assert seen
    assert not seen[0].exists()


async def test_a_file_series_and_a_fetched_one_never_mix(clean, analyst_key, tmp_path):
    pq.write_table(MINUTES, tmp_path / "m.parquet")
    async with app_client(clean, analyst_key) as http:
        fetched = await http.post(
            "/api/v1/stocks/fetch",
            json={"symbols": ["UPL"], "timespan": "minute", "from": "2024-05-06", "to": "2024-05-06",
                  "source": "synthetic"},
        )  # fmt: skip
        assert fetched.status_code == 202
        await drain_jobs(clean)
        answer = await http.post(
            "/api/v1/stocks/import", params=QUERY, content=(tmp_path / "m.parquet").read_bytes()
        )
        assert answer.status_code == 409, answer.text
        assert "stored from synthetic" in answer.json()["detail"]
        file_source = await http.post(
            "/api/v1/stocks/fetch",
            json={"symbols": ["UPL"], "from": "2024-05-06", "to": "2024-05-06", "source": "file"},
        )
        assert file_source.status_code in (400, 422)


async def bar_sources(runtime: Runtime, symbol: str) -> dict[str, int]:
    """How many distinct bars of ``symbol`` the bar store holds, per source."""
    rows = await runtime.stack.clickhouse.run(
        lambda c: (
            c.query(
                "SELECT source, count() FROM bars FINAL WHERE symbol = {symbol:String} GROUP BY source",
                parameters={"symbol": symbol},
            ).result_rows
        )
    )
    return {source: count for source, count in rows}


async def test_an_import_while_a_fetch_of_the_symbol_runs_is_refused_and_nothing_mixes(
    clean, analyst_key, polygon: PolygonLoopback
):
    polygon.add_bars("UPL", 1, "minute", MINUTES)
    gate = threading.Event()
    polygon.inject(Fault.held(gate), times=None, path_contains="/UPL/")
    async with app_client(clean, analyst_key) as http:
        accepted = await http.post(
            "/api/v1/stocks/fetch",
            json={"symbols": ["UPL"], "timespan": "minute", "from": "2024-05-06", "to": "2024-05-08",
                  "source": "polygon"},
        )  # fmt: skip
        assert accepted.status_code == 202, accepted.text
        worker = asyncio.create_task(drain_jobs(clean))
        try:
            async with asyncio.timeout(30):
                while not any("/UPL/" in request.path for request in polygon.requests):
                    await asyncio.sleep(0.01)  # the fetch runs: it waits on its first page
            answer = await http.post(
                "/api/v1/stocks/import",
                params=QUERY,
                content=csv_bytes(),
                headers={"Content-Type": "text/csv"},
            )
        finally:
            gate.set()
            await worker
        status = (await http.get(accepted.json()["status_url"])).json()
        tables = (await http.get("/api/v1/stocks/tables")).json()

    assert answer.status_code == 409, answer.text
    assert answer.json()["detail"] == (
        "UPL 1m bars are being stored from polygon right now; try again when that has finished"
        " (then delete its dataset before importing a file of them)"
    )
    assert status["state"] == "complete", status
    assert status["symbols"][0]["error"] is None
    assert [(t["table"], t["source"], t["total_records"]) for t in tables] == [
        (TABLE, "polygon", MINUTES.num_rows)
    ]
    assert await bar_sources(clean, "UPL") == {"polygon": MINUTES.num_rows}


async def test_a_synthetic_fetch_and_an_import_of_one_symbol_at_once_store_one_source(clean, analyst_key):
    async with app_client(clean, analyst_key) as http:
        accepted = await http.post(
            "/api/v1/stocks/fetch",
            json={"symbols": ["UPL"], "timespan": "minute", "from": "2023-07-03", "to": "2024-06-28",
                  "source": "synthetic"},
        )  # fmt: skip
        assert accepted.status_code == 202, accepted.text
        worker = asyncio.create_task(drain_jobs(clean))
        async with asyncio.timeout(30):  # the import comes as the fetch starts: either may claim first
            while (await http.get(accepted.json()["status_url"])).json()["state"] == "queued":
                await asyncio.sleep(0.005)
        answer = await http.post(
            "/api/v1/stocks/import", params=QUERY, content=csv_bytes(), headers={"Content-Type": "text/csv"}
        )
        await worker
        status = (await http.get(accepted.json()["status_url"])).json()
        tables = (await http.get("/api/v1/stocks/tables")).json()

    sources = await bar_sources(clean, "UPL")
    [fetched] = status["symbols"]
    if answer.status_code == 201:  # the import claimed the series first: the fetch stored nothing
        assert "stored from file" in (fetched["error"] or ""), status
        assert fetched["bars"] == 0
        assert sources == {"file": MINUTES.num_rows}
    else:  # the fetch did: the import was refused
        assert answer.status_code == 409, answer.text
        assert "stored from synthetic" in answer.json()["detail"]
        assert fetched["error"] is None
        assert set(sources) == {"synthetic"}
    assert len(sources) == 1
    assert {t["source"] for t in tables} == set(sources)
