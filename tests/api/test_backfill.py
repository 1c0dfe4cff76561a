"""``k2q backfill --flat-files`` as users run it, and ``POST /api/v1/stocks/flat-files`` behind it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.conftest import app_client, drain_jobs
from tests.loopback.polygon_flat import Row, day_path, day_rows, loopback_s3, write_day, write_text
from tests.process import free_port, k2q_env, run_k2q, running_up

DAYS = [dt.date(2024, 1, 2), dt.date(2024, 1, 3), dt.date(2024, 1, 4)]


def write_tree(
    root: Path, timespan: str = "day", tickers: tuple[str, ...] = ("AAPL", "MSFT")
) -> dict[dt.date, list[Row]]:
    rng = np.random.default_rng(1)
    rows = {day: day_rows(day, timespan, list(tickers), rng, per_ticker=20) for day in DAYS}
    for day, items in rows.items():
        write_day(root, timespan, day, items)
    return rows


def one_line_error(result) -> str:
    assert result.returncode != 0, result.stdout
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("k2q: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return message


@pytest.mark.slow
def test_backfill_in_process_then_through_a_running_server(tmp_path):
    files = tmp_path / "flat"
    write_tree(files, "minute")
    data_dir = tmp_path / "data"
    env = k2q_env(data_dir, free_port())

    loaded = run_k2q(
        "backfill", "--flat-files", str(files), "--timespan", "minute", "--symbols", "aapl", env=env
    )
    assert loaded.returncode == 0, loaded.stderr
    assert (
        "stored 60 bars from 3 of 3 files (2024-01-02 to 2024-01-04) into 1 unadjusted datasets"
        in loaded.stdout
    )

    missing = run_k2q("backfill", "--flat-files", str(tmp_path / "nope"), env=env)
    assert missing.returncode == 2
    assert one_line_error(missing) == f"k2q: no such directory: {tmp_path / 'nope'}"
    bad_symbol = run_k2q("backfill", "--flat-files", str(files), "--symbols", "AA PL", env=env)
    assert bad_symbol.returncode == 2
    assert "not a valid ticker symbol" in one_line_error(bad_symbol)
    inverted = run_k2q(
        "backfill", "--flat-files", str(files), "--from", "2024-02-01", "--to", "2024-01-01", env=env
    )
    assert "'to' is before 'from'" in one_line_error(inverted)

    write_text(day_path(files, "minute", dt.date(2024, 1, 5)), "ticker,volume\nAAPL,1\n")
    partly = run_k2q(
        "backfill", "--flat-files", str(files / "us_stocks_sip"), "--timespan", "minute", env=env
    )
    assert partly.returncode == 1
    assert "2024-01-05.csv.gz: expected the header" in partly.stderr
    assert one_line_error(partly) == "k2q: 1 file(s) failed and stored nothing"
    assert "stored 120 bars from 3 of 4 files" in partly.stdout

    with running_up(data_dir) as server:
        tables = httpx.get(f"{server.url}/api/v1/stocks/tables", headers=server.headers()).json()
        raw = {t["table"]: t["total_records"] for t in tables if not t["adjusted"]}
        assert raw == {
            "aapl_1minute_2024-01-02_2024-01-04_raw": 60,
            "aapl_1minute_2024-01-02_2024-01-05_raw": 60,
            "msft_1minute_2024-01-02_2024-01-05_raw": 60,
        }

        write_tree(files, "day")
        through = run_k2q("backfill", "--flat-files", str(files), "--to", "2024-01-03", env=server.env)
        assert through.returncode == 0, through.stderr
        assert "stored 4 bars from 2 of 2 files" in through.stdout
        tables = httpx.get(f"{server.url}/api/v1/stocks/tables", headers=server.headers()).json()
        assert {"aapl_1day_2024-01-02_2024-01-03_raw", "msft_1day_2024-01-02_2024-01-03_raw"} <= {
            t["table"] for t in tables
        }
        refused = run_k2q("backfill", "--flat-files", str(tmp_path / "nope"), env=server.env)
        assert refused.returncode == 2
        assert one_line_error(refused) == f"k2q: no such directory: {tmp_path / 'nope'}"


async def test_flat_file_endpoint_runs_a_job_with_progress(clean, admin_key, tmp_path):
    rows = write_tree(tmp_path)
    async with app_client(clean, admin_key) as http:
        answer = await http.post(
            "/api/v1/stocks/flat-files", json={"source": str(tmp_path), "symbols": ["MSFT"]}
        )
        assert answer.status_code == 202, answer.text
        await drain_jobs(clean)
        status = (await http.get(answer.json()["status_url"])).json()
        assert status["state"] == "complete", status
        assert status["kind"] == "flat_files"
        [item] = status["symbols"]
        assert (item["symbol"], item["windows_done"], item["windows_total"], item["bars"]) == (
            "flat files",
            3,
            3,
            3,
        )
        assert item["error"] is None
        assert status["message"].startswith("stored 3 bars from 3 of 3 files")
        page = (await http.get("/api/v1/stocks/data/msft_1day_2024-01-02_2024-01-04_raw")).json()
        assert [row["close"] for row in page["rows"]] == [
            r.close for day in DAYS for r in rows[day] if r.ticker == "MSFT"
        ]

        for body, detail in [
            ({"source": str(tmp_path / "nope")}, "no such directory"),
            ({"source": str(tmp_path), "from": "2030-01-01"}, "no day_aggs_v1 day files from 2030-01-01 on"),
            ({"source": str(tmp_path), "timespan": "hour"}, "Invalid enum value 'hour'"),
        ]:
            refused = await http.post("/api/v1/stocks/flat-files", json=body)
            assert refused.status_code == 422, refused.text
            assert detail in refused.json()["detail"]


async def test_flat_file_endpoint_is_for_admins_only(clean, tmp_path):
    await clean.auth.users.create("ana", None, "analyst")
    key = (await clean.auth.create_key("ana", "t", "analyst", None)).key
    async with app_client(clean, key) as http:
        answer = await http.post("/api/v1/stocks/flat-files", json={"source": str(tmp_path)})
    assert answer.status_code == 403


@pytest.mark.slow
def test_backfill_from_s3_with_credentials_from_the_environment(tmp_path):
    files = tmp_path / "flat"
    write_tree(files, "day", tickers=("AAPL", "MSFT", "NVDA"))
    with loopback_s3() as s3:
        s3.upload_tree("flatfiles", files)
        env = k2q_env(
            tmp_path / "data", free_port(), K2Q_S3_ENDPOINT=s3.endpoint,
            AWS_ACCESS_KEY_ID="flat-key", AWS_SECRET_ACCESS_KEY="flat-secret",
        )  # fmt: skip
        loaded = run_k2q("backfill", "--flat-files", "s3://flatfiles", env=env)
        assert loaded.returncode == 0, loaded.stderr
        assert "stored 9 bars from 3 of 3 files" in loaded.stdout
        assert "into 3 unadjusted datasets" in loaded.stdout
        nothing = run_k2q(
            "backfill",
            "--flat-files",
            "s3://flatfiles",
            "--from",
            "2020-01-01",
            "--to",
            "2020-01-31",
            env=env,
        )
        assert nothing.returncode == 2
        assert "no day_aggs_v1 day files between 2020-01-01 and 2020-01-31" in one_line_error(nothing)
