"""Redis killed mid-backfill and started again, empty: the job resumes and every bar is stored once.

``k2q up`` runs against a redis-server of the test's own (``REDIS_URL``); Postgres and chDB stay
embedded. Redis carries motion, never truth: the queue dies with it, the job's record and its
fetch-window checkpoints live in Postgres.

The embedded Redis of ``k2q up`` (a redis-server child) killed mid-backfill is started again by
``k2q up`` itself, and the backfill ends with every bar stored. Beside them, on the session's
stores: a job submitted while Redis is down is accepted and runs once Redis is back, and one that
Redis came back remembering as done or tried runs all the same.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
import redis
from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix, retry_key_prefix

from api.embedded_redis import start_embedded_redis
from api.runtime import Runtime
from pipelines.jobs.interruptions import REDIS_LOST_MESSAGE
from pipelines.jobs.kinds import JobKind
from pipelines.jobs.queue import QUEUE_NAME, requeue
from pipelines.jobs.recovery import recover_jobs
from pipelines.jobs.submit import record, submit
from schemas.datasets import FetchRequest
from tests.api.test_fetch_processes import windows_of
from tests.conftest import drain_jobs
from tests.loopback.polygon import Fault, PolygonLoopback
from tests.pipelines.ingest.test_polygon_rest import minute_bars
from tests.process import alive, free_port, running_up
from tests.resilience.process_faults import RedisServer, job_ended, job_row, wait_for

KEY = "redis-restart-key"
START, END = dt.date(2024, 1, 2), dt.date(2024, 3, 29)
SYMBOLS = ("AAA", "BBB")


def requested(polygon: PolygonLoopback) -> list[str]:
    """``SYMBOL first/last`` of every window asked for, in order."""
    parts = [seen.path.split("/") for seen in polygon.requests if "/range/" in seen.path]
    return [f"{part[4]} {part[-2]}/{part[-1]}" for part in parts]


@pytest.mark.slow
def test_redis_killed_mid_backfill_and_restarted_empty_the_job_resumes_and_stores_every_bar_once(tmp_path):
    bars = minute_bars(START, END)
    windows = {symbol: windows_of(symbol, START, END) for symbol in SYMBOLS}
    assert [len(found) for found in windows.values()] == [2, 2]
    first, last = windows["BBB"][-1]
    held = f"BBB {first}/{last}"
    redis_server = RedisServer(free_port(), tmp_path / "redis")
    redis_server.start()
    data_dir = tmp_path / "data"
    gate = threading.Event()
    try:
        with PolygonLoopback(api_key=KEY) as polygon:
            for symbol in SYMBOLS:
                polygon.add_bars(symbol, 1, "minute", bars)
            # BBB's last window answers only once Redis is gone: its bars reach the writer mid-outage
            polygon.inject(Fault.held(gate), times=1, path_contains=f"/BBB/range/1/minute/{first}/")
            extra = {
                "POLYGON_API_KEY": KEY,
                "POLYGON_BASE_URL": polygon.base_url,
                "K2Q_SEED_DEMO": "0",
                "REDIS_URL": redis_server.url,
            }
            with running_up(data_dir, **extra) as k2q:
                with httpx.Client(base_url=k2q.url, headers=k2q.headers(), timeout=30) as client:
                    body = {
                        "symbols": list(SYMBOLS),
                        "timespan": "minute",
                        "from": str(START),
                        "to": str(END),
                    }
                    accepted = client.post("/api/v1/stocks/fetch", json=body).json()
                    job_id = accepted["job_id"]

                    def windows_done() -> int:
                        return sum(
                            item["windows_done"]
                            for item in client.get(accepted["status_url"]).json()["symbols"]
                        )

                    wait_for(lambda: windows_done() == 3, what="every window but the held one stored")
                    redis_server.kill()
                    gate.set()
                    wait_for(
                        lambda: job_row(data_dir, job_id)[0] != "running", what="the job to stop running"
                    )
                    interrupted = job_row(data_dir, job_id)
                    assert k2q.process.poll() is None, "k2q up stopped when Redis went away"

                    redis_server.start()
                    assert redis_server.keys() == []  # the queue is gone: only Postgres remembers the job

                    wait_for(
                        lambda: job_ended(client, accepted["status_url"]), what="the job to resume and end"
                    )
                    status = client.get(accepted["status_url"]).json()
                    exported = {}
                    totals = {}
                    datasets = {d["table"]: d for d in client.get("/api/v1/stocks/tables").json()}
                    for item in status["symbols"]:
                        data = client.get(f"/api/v1/stocks/data/{item['table']}", params={"format": "arrow"})
                        exported[item["symbol"]] = pa.ipc.open_stream(data.content).read_all()
                        totals[item["symbol"]] = datasets[item["table"]]["total_records"]
            output = k2q.output()
    finally:
        redis_server.kill()

    # While Redis was gone the job was recorded queued again, in words: neither failed nor left running.
    assert interrupted == ("queued", REDIS_LOST_MESSAGE, None)
    assert "Redis is unreachable; jobs wait until it answers" in output
    assert "Redis answers again after" in output
    assert "1 unfinished job(s) queued again" in output
    assert status["state"] == "complete", status
    assert [(item["windows_done"], item["windows_total"]) for item in status["symbols"]] == [(2, 2), (2, 2)]
    # It resumed from its checkpoints: only the window whose bars met the outage was fetched again.
    asked = requested(polygon)
    every = {f"{symbol} {a}/{b}" for symbol, found in windows.items() for a, b in found}
    assert set(asked) == every
    assert sorted(asked) == sorted([*every, held]), asked
    for symbol in SYMBOLS:  # every bar once, none missing
        assert exported[symbol].column("ts").cast(pa.int64()).to_pylist() == bars["t"].tolist()
        assert totals[symbol] == len(bars["t"])


@pytest.mark.slow
def test_k2q_up_starts_its_embedded_redis_again_when_it_is_killed_and_the_backfill_ends(tmp_path):
    bars = minute_bars(START, END)
    every = {f"AAA {first}/{last}" for first, last in windows_of("AAA", START, END)}
    held_from = windows_of("AAA", START, END)[-1][0]
    data_dir = tmp_path / "data"
    gate = threading.Event()
    with PolygonLoopback(api_key=KEY) as polygon:
        polygon.add_bars("AAA", 1, "minute", bars)
        polygon.inject(Fault.held(gate), times=1, path_contains=f"/AAA/range/1/minute/{held_from}/")
        extra = {"POLYGON_API_KEY": KEY, "POLYGON_BASE_URL": polygon.base_url, "K2Q_SEED_DEMO": "0"}
        try:
            with running_up(data_dir, **extra) as k2q:
                with httpx.Client(base_url=k2q.url, headers=k2q.headers(), timeout=30) as client:
                    body = {"symbols": ["AAA"], "timespan": "minute", "from": str(START), "to": str(END)}
                    accepted = client.post("/api/v1/stocks/fetch", json=body).json()

                    def progress() -> dict[str, Any]:
                        entry: dict[str, Any] = client.get(accepted["status_url"]).json()["symbols"][0]
                        return entry

                    wait_for(lambda: progress()["windows_done"] == 1, what="the first window stored")
                    pid_file = data_dir / "redis" / "server.pid"
                    killed = int(pid_file.read_text())
                    os.kill(killed, signal.SIGKILL)
                    wait_for(lambda: pid_file.read_text() not in ("", str(killed)), 20, "a new redis-server")
                    gate.set()
                    wait_for(lambda: job_ended(client, accepted["status_url"]), what="the job to end")
                    status = client.get(accepted["status_url"]).json()
                    data = client.get(
                        f"/api/v1/stocks/data/{status['symbols'][0]['table']}", params={"format": "arrow"}
                    )
                    assert k2q.process.poll() is None
        finally:
            gate.set()
    assert not alive({killed})
    assert "the embedded redis-server exited with -9; starting it again" in k2q.output()
    assert status["state"] == "complete", status
    assert set(requested(polygon)) == every
    stored = pa.ipc.open_stream(data.content).read_all()
    assert stored.column("ts").cast(pa.int64()).to_pylist() == bars["t"].tolist()


JANUARY_DAYS = 21
"""Trading days of January 2024."""


def january(symbol: str) -> FetchRequest:
    """Synthetic daily bars of ``symbol`` over January 2024."""
    return FetchRequest(
        symbols=[symbol],
        timespan="day",
        from_=dt.date(2024, 1, 2),
        to=dt.date(2024, 1, 31),
        source="synthetic",
    )


async def test_a_queued_job_that_redis_remembers_as_done_or_tried_is_queued_again(clean: Runtime):
    """Redis back with what it held (a server that persists): ARQ's keys of a run that is over stay.

    ARQ would take the job for done (its result key) or tried once already (its retry key); the job
    is queued in Postgres, in no worker's hands, so they are dropped and it runs.
    """
    request = january("RQA")
    job_id = await record(clean.services.jobs, JobKind.FETCH, request, "admin")
    for prefix in (job_key_prefix, result_key_prefix, retry_key_prefix):
        await clean.queue.set(prefix + job_id, b"left by the run before")
    (job,) = [job for job in await clean.services.jobs.unfinished(["fetch"]) if job.job_id == job_id]
    await requeue(clean.queue, job)
    assert await clean.queue.zscore(QUEUE_NAME, job_id) is not None
    assert await clean.queue.exists(retry_key_prefix + job_id, result_key_prefix + job_id) == 0
    await drain_jobs(clean)
    status = await clean.services.jobs.get(job_id)
    assert (status.state, status.symbols[0].bars) == ("complete", JANUARY_DAYS)


async def test_a_job_submitted_while_redis_is_down_is_accepted_and_runs_once_it_is_back(clean: Runtime):
    request = january("RQB")
    gone = ArqRedis(port=free_port(), socket_connect_timeout=1)  # nothing listens there
    try:
        accepted = await submit(gone, clean.services.jobs, JobKind.FETCH, request, "admin")
    finally:
        await gone.aclose()
    assert (await clean.services.jobs.get(accepted.job_id)).state == "queued"
    assert await clean.queue.zscore(QUEUE_NAME, accepted.job_id) is None
    # what a worker does when Redis answers again
    assert accepted.job_id in await recover_jobs(clean.services.jobs, clean.queue)
    await drain_jobs(clean)
    status = await clean.services.jobs.get(accepted.job_id)
    assert (status.state, status.symbols[0].bars) == ("complete", JANUARY_DAYS)


def test_the_embedded_redis_server_killed_is_started_again_on_the_same_socket(tmp_path: Path):
    server = start_embedded_redis(tmp_path / "redis")
    try:
        first = server.pid
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: server.pid != first, 10, "the server to be started again")
        with redis.Redis(unix_socket_path=str(server.socket_file), socket_connect_timeout=1) as client:

            def answers() -> bool:
                try:
                    return bool(client.ping())
                except redis.ConnectionError:
                    return False

            wait_for(answers, 10, "the new server to answer")
        assert (tmp_path / "redis" / "server.pid").read_text() == str(server.pid)
    finally:
        server.stop()
    stopped = server.pid
    time.sleep(0.5)  # room for a (wrong) restart
    assert not alive({first, stopped})
    assert server.pid == stopped  # a stopped server is not started again
