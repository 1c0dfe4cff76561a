"""Exports read back by pandas, Polars and DuckDB equal the stored bars exactly."""

from __future__ import annotations

import datetime as dt
import io

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.ingest.sources.synthetic import generate_bars
from schemas.bars import SeriesKey
from tests.api.test_stocks import fetch

MINUTES = {
    "symbols": ["EXP"],
    "timespan": "minute",
    "from": "2024-03-04",
    "to": "2024-03-15",
    "source": "synthetic",
}
TABLE = "exp_1minute_2024-03-04_2024-03-15"


@pytest.fixture
async def stored(client, clean) -> pa.Table:
    status = await fetch(client, clean, MINUTES)
    assert status["state"] == "complete"
    return generate_bars(
        SeriesKey(symbol="EXP", multiplier=1, timespan="minute"), dt.date(2024, 3, 4), dt.date(2024, 3, 15)
    )


async def export(client, fmt: str, **params: str) -> bytes:
    answer = await client.get(f"/api/v1/stocks/data/{TABLE}", params={"format": fmt, **params})
    assert answer.status_code == 200, answer.text
    assert f'filename="{TABLE}.' in answer.headers["content-disposition"]
    return answer.content


def as_polars(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


async def test_parquet_and_arrow_equal_the_stored_bars(client, stored):
    parquet = await export(client, "parquet")
    from_parquet = pq.read_table(io.BytesIO(parquet))
    assert from_parquet.schema.field("ts").type == pa.timestamp("ms", tz="UTC")
    assert from_parquet.equals(stored)
    assert pd.read_parquet(io.BytesIO(parquet)).equals(stored.to_pandas())
    assert pl.read_parquet(io.BytesIO(parquet)).equals(as_polars(stored))
    with duckdb.connect() as db:
        rows = db.execute(
            "SELECT count(*), sum(volume), min(ts), max(ts) FROM read_parquet(?)", [_tmp(parquet)]
        ).fetchone()
    assert rows is not None
    assert rows[0] == stored.num_rows
    assert rows[1] == pytest.approx(sum(stored.column("volume").to_pylist()), rel=1e-12)

    arrow = pa.ipc.open_stream(await export(client, "arrow")).read_all()
    assert arrow.equals(stored)


async def test_csv_and_json_carry_the_same_values(client, stored):
    csv = pl.read_csv(io.BytesIO(await export(client, "csv")), try_parse_dates=True)
    assert csv.height == stored.num_rows
    assert csv["close"].to_list() == stored.column("close").to_pylist()
    assert (
        csv["ts"].dt.replace_time_zone("UTC").dt.cast_time_unit("ms").to_list()
        == stored.column("ts").to_pylist()
    )
    json = pd.read_json(io.BytesIO(await export(client, "json")))
    assert len(json) == stored.num_rows
    assert json["open"].tolist() == stored.column("open").to_pylist()


async def test_window_and_columns(client, stored):
    window = pq.read_table(
        io.BytesIO(
            await export(
                client, "parquet", **{"from": "2024-03-05", "to": "2024-03-05", "columns": "close,volume"}
            )
        )
    )
    assert window.schema.names == ["ts", "close", "volume"]
    day = as_polars(stored).filter(pl.col("ts").dt.date() == dt.date(2024, 3, 5))
    assert window.num_rows == day.height > 0


async def test_bad_export_requests(client, stored):
    cases = [
        ({"format": "xlsx"}, 422),
        ({"format": "csv", "columns": "close,password"}, 422),
        ({"format": "csv", "from": "2024-03-10", "to": "2024-03-01"}, 422),
        ({"format": "csv", "from": "last tuesday"}, 422),
    ]
    for params, status in cases:
        answer = await client.get(f"/api/v1/stocks/data/{TABLE}", params=params)
        assert answer.status_code == status, (params, answer.text)
    assert (
        await client.get("/api/v1/stocks/data/no_such_table", params={"format": "csv"})
    ).status_code == 404


def _tmp(data: bytes) -> str:
    import tempfile

    handle = tempfile.NamedTemporaryFile(suffix=".parquet", delete=False)
    handle.write(data)
    handle.close()
    return handle.name
