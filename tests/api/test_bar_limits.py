"""The supported time range and price limits, on every way bars come in, and datasets that can always go.

Bars start between 1970-01-01 and 2099-12-31 (UTC); prices are positive and below 1e9, volumes
below 1e15. Bars outside are refused with a 422 naming the limit, and a dataset stored before the
limits existed (here: written straight into the stores) can still be deleted.
"""

from __future__ import annotations

import datetime as dt

import httpx
import msgspec
import pyarrow as pa
import pytest

from api.runtime import Runtime
from pipelines.series.writes import DatasetExtent
from schemas.bars import BAR_ARROW_SCHEMA, SeriesKey
from schemas.datasets import FetchRequest
from tests.conftest import app_client
from warehouse.clickhouse.bars import SeriesStats, epoch_ms

IMPORT = "/api/v1/stocks/import"
DAY_QUERY = {"symbol": "LIM", "timespan": "day"}
HEADER = "date,open,high,low,close,volume\n"


def csv(*rows: str) -> bytes:
    return (HEADER + "".join(f"{row}\n" for row in rows)).encode()


async def post_csv(http, body: bytes, query: dict[str, str] = DAY_QUERY):
    return await http.post(IMPORT, params=query, content=body, headers={"Content-Type": "text/csv"})


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        (("2024-01-02,1,2,0.5,1.5,100", "2999-01-02,1,2,0.5,1.5,100"), "1970-01-01 to 2099-12-31"),
        (("9999-12-30,1,2,0.5,1.5,100",), "1970-01-01 to 2099-12-31"),
        (("1800-01-02,1,2,0.5,1.5,100",), "1970-01-01 to 2099-12-31"),
        (("-1,1,2,0.5,1.5,100",), "1970-01-01 to 2099-12-31"),
        (("2024-01-02,-1,2,0.5,1.5,100",), "must be positive"),
        (("2024-01-02,0,2,0.5,1.5,100",), "must be positive"),
        (("2024-01-02,1,1e308,0.5,1.5,100",), "at most 1e+09"),
        (("2024-01-02,1,2,0.5,1.5,1e300",), "at most 1e+15"),
    ],
)
async def test_imports_refuse_bars_outside_the_limits(client, rows, reason):
    answer = await post_csv(client, csv(*rows))
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    details = answer.json()
    assert reason in " ".join(problem["message"] for problem in details["problems"]), details
    assert (await client.get("/api/v1/stocks/tables")).json() == []


async def test_fetch_refuses_a_range_past_the_supported_times(client):
    answer = await client.post(
        "/api/v1/stocks/fetch",
        json={"symbols": ["LIM"], "from": "2024-01-01", "to": "9999-12-31", "source": "synthetic"},
    )
    assert answer.status_code == 422, answer.text
    assert "2099-12-31" in answer.json()["detail"]


async def test_flat_file_requests_refuse_days_past_the_supported_times(client):
    answer = await client.post(
        "/api/v1/stocks/flat-files", json={"source": "/nonexistent", "from": "2024-01-01", "to": "2200-01-01"}
    )
    assert answer.status_code == 422, answer.text
    assert "1970-01-01 to 2099-12-31" in answer.json()["detail"]


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-12-31"])
async def test_reads_refuse_times_outside_the_supported_range(client, moment):
    stored = await post_csv(client, csv("2024-01-02,1,2,0.5,1.5,100", "2024-01-03,1.5,2,1,1.8,200"))
    assert stored.status_code == 201, stored.text
    table = stored.json()["dataset"]["table"]
    answers = [
        await client.post("/api/v1/stocks/chart-data", json={"symbol": "LIM", "from": moment}),
        await client.post("/api/v1/stocks/chart-data", json={"symbol": "LIM", "to": moment}),
        await client.get(f"/api/v1/stocks/data/{table}", params={"format": "csv", "from": moment}),
        await client.get(f"/api/v1/stocks/table/{table}/quality", params={"to": moment}),
    ]
    for answer in answers:
        assert answer.status_code == 422, (answer.request.url, answer.text)
        assert "outside the supported times, 1970-01-01 to 2099-12-31 (UTC)" in answer.json()["detail"]


def _bars(*stamps: dt.datetime) -> pa.Table:
    rows = len(stamps)
    return pa.table(
        {
            "ts": pa.array(stamps, BAR_ARROW_SCHEMA.field("ts").type),
            **{name: pa.array([1.0] * rows) for name in ("open", "high", "low", "close", "volume")},
            "vwap": pa.nulls(rows, pa.float64()),
            "transactions": pa.nulls(rows, pa.uint32()),
        },
        schema=BAR_ARROW_SCHEMA,
    )


@pytest.mark.parametrize(
    ("day", "stamp"),
    [
        (dt.date(1969, 12, 31), dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=dt.UTC)),
        (dt.date(9999, 12, 30), dt.datetime(9999, 12, 30, 5, tzinfo=dt.UTC)),
        (dt.date(2999, 1, 2), dt.datetime(2999, 1, 2, 5, tzinfo=dt.UTC)),
    ],
)
async def test_a_dataset_stored_outside_the_range_can_be_deleted(clean: Runtime, admin_key, day, stamp):
    """Stored before the limits existed: its bars went straight into the stores."""
    key = SeriesKey(symbol="OLD", multiplier=1, timespan="day")
    await clean.services.bars.insert(key, "file", _bars(stamp))
    [dataset] = await clean.services.writer.register(
        [
            DatasetExtent(
                key=key,
                source="file",
                start=day,
                end=day,
                stats=SeriesStats(count=1, first=stamp, last=stamp),
            )
        ]
    )
    async with app_client(clean, admin_key) as http:
        for fmt in ("csv", "parquet"):  # refused before the first byte, not cut after the first bar
            exported = await http.get(f"/api/v1/stocks/data/{dataset.table}", params={"format": fmt})
            assert exported.status_code == 422, exported.text
            assert "outside the supported times" in exported.json()["detail"]
        quality = await http.get(f"/api/v1/stocks/table/{dataset.table}/quality")
        assert quality.status_code == 422, quality.text
        assert "outside the supported times" in quality.json()["detail"]
        answer = await http.delete(f"/api/v1/stocks/table/{dataset.table}")
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"table": dataset.table, "bars_deleted": 1}
        assert (await http.get("/api/v1/stocks/tables")).json() == []
    left = await clean.stack.clickhouse.run(lambda c: c.query("SELECT count() FROM bars").result_rows)
    assert left == [(0,)]


async def test_buckets_at_the_edge_of_the_range_are_exact(client):
    """The first bars allowed fall in New York's 1969: their weeks and months start in 1969.

    Minute bars are bucketed by the hot cache, day bars by ClickHouse.
    """
    minute = await post_csv(
        client, csv("1970-01-01T00:00:00Z,1,2,0.5,1.5,100"), {"symbol": "EDGE", "timespan": "minute"}
    )
    day = await post_csv(client, csv("1970-01-02,1,2,0.5,1.5,100"), {"symbol": "EDGED", "timespan": "day"})
    assert minute.status_code == day.status_code == 201, (minute.text, day.text)
    for symbol, timeframe, start in (
        ("EDGE", "1d", dt.datetime(1969, 12, 31, 5, tzinfo=dt.UTC)),
        ("EDGE", "1w", dt.datetime(1969, 12, 29, 5, tzinfo=dt.UTC)),
        ("EDGE", "1M", dt.datetime(1969, 12, 1, 5, tzinfo=dt.UTC)),
        ("EDGED", "1w", dt.datetime(1969, 12, 29, 5, tzinfo=dt.UTC)),
    ):
        chart = await client.post(
            "/api/v1/stocks/chart-data",
            json={"symbol": symbol, "timeframe": timeframe},
            headers={"Accept": "application/json"},
        )
        assert chart.status_code == 200, chart.text
        assert [bar["ts"] for bar in chart.json()["bars"]] == [epoch_ms(start)], (symbol, timeframe)


def _wide(extra_columns: int) -> bytes:
    header = ",".join(["date", "open", "high", "low", "close"] + [f"x{i}" for i in range(extra_columns)])
    return f"{header}\n2024-01-02,1,2,0.5,1.5\n".encode()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (_wide(100_000), "longer than 65,536 bytes"),
        (_wide(1_000), "1,005 columns; imports read at most 200"),
        (b"date,open,high,low,close," + b"x" * 70_000 + b"\n2024-01-02,1,2,0.5,1.5,1\n", "65,536 bytes"),
    ],
)  # fmt: skip
async def test_imports_refuse_a_header_too_wide_before_parsing_it(client, body, reason):
    """100,000 columns took both cores for 20 minutes (the reader is quadratic in the column count)."""
    answer = await post_csv(client, body)
    assert answer.status_code == 422, answer.text
    assert reason in answer.text


async def test_long_indicators_and_empty_windows_are_answered_not_failed(client):
    stored = await post_csv(client, csv("2024-01-02,1,2,0.5,1.5,100", "2024-01-03,1.5,2,1,1.8,200"))
    assert stored.status_code == 201, stored.text

    async def chart(**body: object) -> httpx.Response:
        return await client.post(
            "/api/v1/stocks/chart-data",
            json={"symbol": "LIM", **body},
            headers={"Accept": "application/json"},
        )

    # An indicator longer than the series is answered: no values, since two days are stored
    # (at any width: values are computed over the stored buckets, never over a warm-up read).
    for timeframe in ("1d", "1w", "1M"):
        answer = await chart(timeframe=timeframe, indicators=["sma(6000)", "sma(10000)"])
        assert answer.status_code == 200, answer.text
        rows = len(answer.json()["bars"])
        assert answer.json()["series"]["ind:sma(6000):real"] == [None] * rows
        assert answer.json()["series"]["ind:sma(10000):real"] == [None] * rows
    answer = await chart(indicators=["mavp"])
    assert answer.status_code == 422, answer.text
    assert "mavp needs periods as input, which is not a bar column" in answer.json()["detail"]
    # A window after the stored bars holds none: empty, and no window ends before it starts.
    answer = await chart(**{"from": "2099-01-01", "to": "2099-12-31"})
    assert answer.status_code == 200, answer.text
    meta = answer.json()["meta"]
    assert answer.json()["bars"] == []
    assert (meta["window_from"], meta["window_to"]) == (None, None)


async def test_a_provider_sending_impossible_bars_fails_that_window_and_stores_nothing(
    clean: Runtime, polygon
):
    """The write path checks what providers and streams send, as the reader checks files."""
    day = dt.datetime(2024, 1, 2, 5, tzinfo=dt.UTC)
    bars = _bars(day, day + dt.timedelta(days=1))
    bars = bars.set_column(bars.schema.get_field_index("close"), "close", pa.array([1.0, -3.0]))
    polygon.add_bars("BADP", 1, "day", bars)
    request = msgspec.convert(
        {"symbols": ["BADP"], "from": "2024-01-02", "to": "2024-01-03", "source": "polygon"}, FetchRequest
    )
    outcome = await clean.services.fetcher.run(request)
    [progress] = outcome.progress
    assert "prices must be positive" in (progress.error or ""), progress
    assert outcome.datasets == []
    assert progress.bars == 0
    stored = await clean.stack.clickhouse.run(lambda c: c.query("SELECT count() FROM bars").result_rows)
    assert stored == [(0,)]
