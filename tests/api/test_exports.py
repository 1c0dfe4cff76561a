"""Exports read back by pandas, Polars and DuckDB equal the stored bars exactly."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import duckdb
import msgspec
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from api.cli.exports import export_lake, http_opener, store_opener
from pipelines.ingest.sources.synthetic import generate_bars
from schemas.bars import SeriesKey
from schemas.datasets import Dataset, DateRange
from schemas.values import Timespan
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


# The partitioned lake (``k2q export --partitioned``): one series per partition, whatever the catalog holds.

LAKE_FETCHES: list[dict[str, object]] = [
    {"symbols": ["DEMO"], "timespan": "minute", "from": "2023-12-27", "to": "2024-01-03"},
    {"symbols": ["DEMO", "X:DEMO"], "timespan": "day", "from": "2023-01-01", "to": "2024-06-30"},
    {"symbols": ["DEMO"], "timespan": "day", "from": "2024-01-01", "to": "2024-12-31"},  # overlaps
    {"symbols": ["DEMO"], "timespan": "day", "from": "2023-01-01", "to": "2024-06-30", "adjusted": False},
]

HOURLY = {"symbol": "DEMO", "timeframe": "1h", "max_points": 5000}

README = Path(__file__).parents[2].joinpath("README.md").read_text()

# The Notebooks section's one-liners over a lake, exactly as the README has them.
POLARS_ONE_LINER = """pl.scan_parquet("lake/**/*.parquet", hive_partitioning=True).filter(
    (pl.col("width") == "1minute") & pl.col("adjusted") & (pl.col("symbol") == "DEMO")
).collect()"""
DUCKDB_ONE_LINER = """duckdb.sql(
    "SELECT symbol, year, count(*) FROM read_parquet('lake/width=1day/adjusted=true/**/*.parquet',"
    " hive_partitioning=true) GROUP BY ALL ORDER BY ALL"
)"""


def series_bars(symbol: str, timespan: Timespan, start: str, end: str, adjusted: bool = True) -> pa.Table:
    key = SeriesKey(symbol=symbol, multiplier=1, timespan=timespan, adjusted=adjusted)
    return generate_bars(key, dt.date.fromisoformat(start), dt.date.fromisoformat(end))


@pytest.fixture
async def lake_catalog(client, clean) -> list[Dataset]:
    """DEMO's minute, adjusted daily (two overlapping datasets) and raw daily series; X:DEMO's daily."""
    for body in LAKE_FETCHES:
        status = await fetch(client, clean, {**body, "source": "synthetic"})
        assert status["state"] == "complete", status
    return msgspec.convert((await client.get("/api/v1/stocks/tables")).json(), list[Dataset])


def lake_files(lake: Path) -> list[str]:
    return sorted(str(path.relative_to(lake)) for path in lake.rglob("*") if path.is_file())


async def test_readme_one_liners_read_one_series(client, lake_catalog, tmp_path, monkeypatch):
    assert POLARS_ONE_LINER in README
    assert DUCKDB_ONE_LINER in README
    written = await export_lake(lake_catalog, http_opener(client), tmp_path / "lake")

    minute = series_bars("DEMO", "minute", "2023-12-27", "2024-01-03")
    daily = series_bars("DEMO", "day", "2023-01-01", "2024-12-31")  # the union of its two datasets
    raw = series_bars("DEMO", "day", "2023-01-01", "2024-06-30", adjusted=False)
    x_daily = series_bars("X:DEMO", "day", "2023-01-01", "2024-06-30")
    assert sum(pq.read_metadata(path).num_rows for path, _ in written) == (
        minute.num_rows + daily.num_rows + raw.num_rows + x_daily.num_rows
    )  # every stored bar once: the overlapping datasets of one series are not written twice
    series = "width=1minute/adjusted=true/source=synthetic/symbol=DEMO"
    assert lake_files(tmp_path / "lake") == [
        "width=1day/adjusted=false/source=synthetic/symbol=DEMO/year=2023/demo_1day_2023-01-01_2024-06-30_raw.parquet",
        "width=1day/adjusted=false/source=synthetic/symbol=DEMO/year=2024/demo_1day_2023-01-01_2024-06-30_raw.parquet",
        "width=1day/adjusted=true/source=synthetic/symbol=DEMO/year=2023/demo_1day_2023-01-01_2024-06-30.parquet",
        "width=1day/adjusted=true/source=synthetic/symbol=DEMO/year=2024/demo_1day_2023-01-01_2024-06-30.parquet",
        "width=1day/adjusted=true/source=synthetic/symbol=DEMO/year=2024/demo_1day_2024-01-01_2024-12-31.parquet",
        "width=1day/adjusted=true/source=synthetic/symbol=X%3ADEMO/year=2023/x-demo_1day_2023-01-01_2024-06-30.parquet",
        "width=1day/adjusted=true/source=synthetic/symbol=X%3ADEMO/year=2024/x-demo_1day_2023-01-01_2024-06-30.parquet",
        f"{series}/year=2023/demo_1minute_2023-12-27_2024-01-03.parquet",
        f"{series}/year=2024/demo_1minute_2023-12-27_2024-01-03.parquet",
    ]

    monkeypatch.chdir(tmp_path)
    frame = eval(POLARS_ONE_LINER)
    assert frame.drop("width", "adjusted", "source", "symbol", "year").sort("ts").equals(as_polars(minute))
    assert set(frame["year"]) == {2023, 2024}
    counts = eval(DUCKDB_ONE_LINER).fetchall()
    expected = as_polars(daily).group_by(pl.col("ts").dt.year().alias("year")).len().sort("year")
    x_expected = as_polars(x_daily).group_by(pl.col("ts").dt.year().alias("year")).len().sort("year")
    assert counts == [("DEMO", *row) for row in expected.iter_rows()] + [
        ("X:DEMO", *row) for row in x_expected.iter_rows()
    ]


async def test_lake_keys_are_not_file_columns(client, lake_catalog, tmp_path):
    lake = tmp_path / "lake"
    await export_lake(lake_catalog, http_opener(client), lake, columns="close")
    keys = ["width", "adjusted", "source", "symbol", "year"]
    scanned = pl.scan_parquet(f"{lake}/**/*.parquet", hive_partitioning=True)
    assert scanned.collect_schema().names() == ["ts", "close", *keys]
    assert scanned.select(pl.len()).collect().item() > 0
    with duckdb.connect() as db:
        names = [row[0] for row in db.execute(
            f"DESCRIBE SELECT * FROM read_parquet('{lake}/**/*.parquet', hive_partitioning = true)"
        ).fetchall()]  # fmt: skip
        raw_rows = db.execute(
            f"SELECT count(*) FROM read_parquet('{lake}/**/*.parquet', hive_partitioning = true)"
            " WHERE symbol = 'DEMO' AND width = '1day' AND NOT adjusted"
        ).fetchone()
    assert sorted(names) == sorted(["ts", "close", *keys])
    assert raw_rows == (series_bars("DEMO", "day", "2023-01-01", "2024-06-30", adjusted=False).num_rows,)


async def test_re_exporting_replaces_a_series_files(client, clean, lake_catalog, tmp_path):
    lake = tmp_path / "lake"
    await export_lake(lake_catalog, store_opener(clean.services.exporter), lake)
    before = {name: (lake / name).read_bytes() for name in lake_files(lake)}
    mine = lake / "notes.txt"
    mine.write_text("not the exporter's")
    await export_lake(lake_catalog, http_opener(client), lake)
    assert {name: (lake / name).read_bytes() for name in lake_files(lake)} == before | {
        "notes.txt": b"not the exporter's"
    }

    # A failure part-way through a series (its second dataset is gone) leaves the lake as it was.
    daily = [d for d in lake_catalog if d.symbol == "DEMO" and d.timespan == "day" and d.adjusted]
    gone = msgspec.structs.replace(
        daily[0], table="gone", date_range=DateRange(from_=dt.date(2025, 1, 1), to=dt.date(2025, 3, 31))
    )
    with pytest.raises(RuntimeError, match="gone"):
        await export_lake([*daily, gone], http_opener(client), lake)
    assert lake_files(lake) == ["notes.txt", *before]

    # A window without the series' bars writes nothing and leaves its files.
    demo_minute = [d for d in lake_catalog if d.symbol == "DEMO" and d.timespan == "minute"]
    assert (
        await export_lake(
            demo_minute, http_opener(client), lake, start=dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
        )
        == []
    )
    assert lake_files(lake) == ["notes.txt", *before]

    # A narrower window: the series' files are replaced, not added to; other series are untouched.
    start = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    await export_lake(demo_minute, http_opener(client), lake, start=start)
    series = "width=1minute/adjusted=true/source=synthetic/symbol=DEMO"
    after = lake_files(lake)
    assert [name for name in after if name.startswith(series)] == [
        f"{series}/year=2024/demo_1minute_2023-12-27_2024-01-03.parquet"
    ]
    assert [name for name in after if not name.startswith(series)] == [
        "notes.txt",
        *(name for name in before if not name.startswith(series)),
    ]
    minute = as_polars(series_bars("DEMO", "minute", "2023-12-27", "2024-01-03"))
    kept = pl.read_parquet(lake / series / "year=2024/demo_1minute_2023-12-27_2024-01-03.parquet")
    assert kept.equals(minute.filter(pl.col("ts") >= start))


async def test_readme_hourly_slice(client, clean):
    """The Notebooks section's chart slice, over a year of minute bars as the demo data has."""
    assert f"json={json.dumps(HOURLY)})" in README
    year = {"symbols": ["DEMO"], "timespan": "minute", "from": "2025-01-01", "to": "2025-12-31"}
    status = await fetch(client, clean, {**year, "source": "synthetic"})
    assert status["state"] == "complete", status
    trap = await client.post("/api/v1/stocks/chart-data", json={"symbol": "DEMO", "timeframe": "1h"})
    assert trap.headers["X-K2Q-Bucket"] == "4h"  # the default budget, 2,000 points, is too small

    answer = await client.post("/api/v1/stocks/chart-data", json=HOURLY)
    hourly = pl.from_arrow(pa.ipc.open_stream(answer.content).read_all())
    assert answer.headers["X-K2Q-Bucket"] == "1h"
    assert isinstance(hourly, pl.DataFrame)
    assert pa.ipc.open_stream(answer.content).schema.metadata[b"k2q.bucket"] == b"1h"
    minutes = as_polars(series_bars("DEMO", "minute", "2025-01-01", "2025-12-31"))
    assert hourly.height == minutes["ts"].dt.truncate("1h").n_unique()
    assert hourly["ts"].diff().min() == dt.timedelta(hours=1)
