"""``k2q import`` as users run it: in its own process, and through a running ``k2q up``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import polars as pl
import pytest

from pipelines.ingest.sources.synthetic import generate_bars
from schemas.bars import SeriesKey
from schemas.imports import MAX_IMPORT_BYTES
from tests.process import free_port, k2q_env, run_k2q, running_up

pytestmark = pytest.mark.slow

DAYS = generate_bars(
    SeriesKey(symbol="CLI", multiplier=1, timespan="day"), dt.date(2024, 1, 2), dt.date(2024, 3, 28)
)


def daily_csv(path: Path) -> Path:
    frame = pl.from_arrow(DAYS)
    assert isinstance(frame, pl.DataFrame)
    frame.with_columns(pl.col("ts").dt.convert_time_zone("America/New_York").dt.date().alias("Date")).drop(
        "ts"
    ).write_csv(path)
    return path


def bad_csv(path: Path) -> Path:
    rows = [f"2024-01-{day:02d},1,2,0.5,1.5,100" for day in range(2, 30)]
    rows[1] = "2024-01-03,1,2,0.5,1.5,-100"  # line 3
    rows[4] = "2024-01-06,1,0.1,0.5,1.5,100"  # line 6
    path.write_text("date,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    return path


def test_import_in_process(tmp_path):
    env = k2q_env(tmp_path / "data", free_port())
    good = run_k2q(
        "import", str(daily_csv(tmp_path / "cli.csv")), "--symbol", "cli", "--timespan", "day", env=env
    )
    assert good.returncode == 0, good.stderr
    assert f"imported {DAYS.num_rows} bars from cli.csv (CSV)" in good.stdout
    assert "cli_1day_2024-01-02_2024-03-28" in good.stdout
    assert "timestamps: ISO-8601 dates and date-times, each naming its day as written" in good.stdout

    bad = run_k2q(
        "import", str(bad_csv(tmp_path / "bad.csv")), "--symbol", "BAD", "--timespan", "day", env=env
    )
    assert bad.returncode == 1
    assert bad.stderr.splitlines() == [
        "k2q: bad.csv has 2 problem(s), so nothing was stored:",
        "  line 3: volume: '-100' is negative",
        "  line 6: high/low: high 0.1 is below low 0.5",
    ]
    assert "Traceback" not in bad.stderr

    huge = tmp_path / "huge.csv"
    with huge.open("wb") as handle:
        handle.truncate(MAX_IMPORT_BYTES + 1)
    too_big = run_k2q("import", str(huge), "--symbol", "BIG", "--timespan", "day", env=env)
    assert too_big.returncode == 2
    assert "imports take files of at most 512 MiB" in too_big.stderr

    small = tmp_path / "cli.csv"
    bad_zone = run_k2q(
        "import", str(small), "--symbol", "X", "--timespan", "minute", "--tz", "Nowhere/City", env=env
    )
    assert bad_zone.returncode == 2
    assert "unknown time zone 'Nowhere/City'" in bad_zone.stderr


def test_import_through_a_running_server(tmp_path):
    with running_up(tmp_path / "data") as server:
        minutes = generate_bars(
            SeriesKey(symbol="SRV", multiplier=1, timespan="minute"), dt.date(2024, 4, 1), dt.date(2024, 4, 2)
        )
        path = tmp_path / "srv.parquet"
        frame = pl.from_arrow(minutes)
        assert isinstance(frame, pl.DataFrame)
        frame.write_parquet(path)
        done = run_k2q("import", str(path), "--symbol", "srv", "--timespan", "minute", env=server.env)
        assert done.returncode == 0, done.stderr
        assert "srv_1minute_2024-04-01_2024-04-02" in done.stdout
        tables = httpx.get(f"{server.url}/api/v1/stocks/tables", headers=server.headers()).json()
        srv = next(t for t in tables if t["symbol"] == "SRV")
        assert (srv["source"], srv["total_records"]) == ("file", minutes.num_rows)

        bad = run_k2q(
            "import",
            str(bad_csv(tmp_path / "bad.csv")),
            "--symbol",
            "BAD",
            "--timespan",
            "day",
            env=server.env,
        )
        assert bad.returncode == 1
        assert "  line 3: volume: '-100' is negative" in bad.stderr.splitlines()

        demo = str(daily_csv(tmp_path / "demo.csv"))
        clash = run_k2q("import", demo, "--symbol", "DEMO", "--timespan", "day", env=server.env)
        assert clash.returncode == 1
        assert "stored from synthetic" in clash.stderr
