"""SIGTERM drains ``k2q up``: the request in flight completes, new connections are refused, the running
job is checkpointed and left queued for the next start (which resumes it), and the exit code is 0.

On the session's stores: a job that does not stop when told and outlasts the grace period is
cancelled and left queued too, and a job the shutdown stopped is put on the queue again at once,
for any other live worker to take.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import threading
import time
from collections.abc import Iterator

import httpx
import psycopg
import pyarrow as pa
import pytest

from api.runtime import Runtime
from api.serve import SHUTDOWN_GRACE_S
from api.stack import start_embedded_postgres, stop_embedded_postgres
from api.worker import build_worker, stop_worker
from pipelines.jobs.interruptions import SHUTDOWN_MESSAGE
from pipelines.jobs.kinds import JobKind
from pipelines.jobs.queue import QUEUE_NAME
from pipelines.jobs.submit import submit
from pipelines.work_pool import DEFAULT_THREADS
from schemas.datasets import FetchRequest
from schemas.indicators import IndicatorCalculateRequest
from tests.api.test_fetch_processes import windows_of
from tests.conftest import drain_jobs
from tests.loopback.polygon import Fault, PolygonLoopback
from tests.pipelines.ingest.test_polygon_rest import minute_bars
from tests.process import running_up, start_up
from tests.resilience.process_faults import job_ended, wait_for
from tests.resilience.test_redis_restart import requested

KEY = "sigterm-key"
START, END = dt.date(2024, 1, 2), dt.date(2024, 3, 29)
FIRST_DAY = dt.date(2020, 1, 1)


def _rows(stop: threading.Event, sent: list[int]) -> Iterator[bytes]:
    """A CSV of daily bars, one row every 50 ms until ``stop``."""
    yield b"date,open,high,low,close\n"
    while not stop.is_set():
        yield f"{FIRST_DAY + dt.timedelta(days=len(sent))},1,2,0.5,1.5\n".encode()
        sent.append(1)
        time.sleep(0.05)


@pytest.mark.slow
def test_sigterm_drains_the_request_in_flight_refuses_new_ones_and_leaves_the_job_queued(tmp_path):
    bars = minute_bars(START, END)
    (first, last), (held_first, held_last) = windows_of("AAA", START, END)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    data_dir = tmp_path / "data"
    gate = threading.Event()
    with PolygonLoopback(api_key=KEY) as polygon:
        polygon.add_bars("AAA", 1, "minute", bars)
        polygon.inject(Fault.held(gate), times=1, path_contains=f"/AAA/range/1/minute/{held_first}/")
        extra = {
            "POLYGON_API_KEY": KEY,
            "POLYGON_BASE_URL": polygon.base_url,
            "POLYGON_MAX_IN_FLIGHT": "1",
            "K2Q_SEED_DEMO": "0",
            "TMPDIR": str(scratch),
        }
        k2q = start_up(data_dir, **extra)
        try:
            with httpx.Client(base_url=k2q.url, headers=k2q.headers(), timeout=30) as client:
                body = {"symbols": ["AAA"], "timespan": "minute", "from": str(START), "to": str(END)}
                accepted = client.post("/api/v1/stocks/fetch", json=body).json()
                wait_for(
                    lambda: (
                        client.get(accepted["status_url"]).json()["symbols"][0]["windows_done"] == 1
                        and len(requested(polygon)) == 2
                    ),
                    what="the first window stored and the second asked for",
                )
            stop, sent, answers = threading.Event(), list[int](), list[httpx.Response | httpx.HTTPError]()

            def upload() -> None:
                try:
                    answer = httpx.post(
                        f"{k2q.url}/api/v1/stocks/import",
                        params={"symbol": "SLOW", "timespan": "day"},
                        content=_rows(stop, sent),
                        headers=k2q.headers() | {"Content-Type": "text/csv"},
                        timeout=60,
                    )
                except httpx.HTTPError as exc:  # reported below, as what the upload got
                    answers.append(exc)
                else:
                    answers.append(answer)

            uploader = threading.Thread(target=upload, daemon=True)
            uploader.start()
            wait_for(lambda: list(scratch.glob("k2q-import-*")), 20, "the upload to reach the server")
            began = time.monotonic()
            k2q.process.send_signal(signal.SIGTERM)

            def refused() -> bool:
                try:
                    httpx.get(f"{k2q.url}/ready", timeout=1)
                except httpx.ConnectError:
                    return True
                except httpx.TransportError:  # taken just before the listener closed, then dropped
                    return False
                return False

            wait_for(refused, 5, "new connections to be refused")
            assert uploader.is_alive()  # refused while the upload was still in flight
            time.sleep(1)  # the upload goes on a while after the signal
            stop.set()
            uploader.join(timeout=SHUTDOWN_GRACE_S)
            code = k2q.process.wait(timeout=SHUTDOWN_GRACE_S + 10)
            took = time.monotonic() - began
        finally:
            gate.set()
            k2q.stop(signal.SIGKILL)
        assert code == 0, k2q.output()
        assert took < SHUTDOWN_GRACE_S, took
        (answer,) = answers
        assert isinstance(answer, httpx.Response), answer
        assert answer.status_code == 201, answer.text
        assert answer.json()["dataset"]["total_records"] == len(sent)

        postgres = start_embedded_postgres(data_dir / "postgres")
        try:
            with psycopg.connect(postgres.get_uri()) as conn:
                row = conn.execute(
                    "SELECT state, message, error, progress FROM jobs WHERE id = %s", (accepted["job_id"],)
                ).fetchone()
        finally:
            stop_embedded_postgres(postgres)
        assert row is not None
        state, message, error, progress = row
        assert (state, message, error) == ("queued", SHUTDOWN_MESSAGE, None)
        assert (progress[0]["windows_done"], progress[0]["windows_total"]) == (1, 2)

        with running_up(data_dir, **extra) as again:
            with httpx.Client(base_url=again.url, headers=again.headers(), timeout=30) as client:
                wait_for(lambda: job_ended(client, accepted["status_url"]), what="the job to resume and end")
                status = client.get(accepted["status_url"]).json()
                table = status["symbols"][0]["table"]
                exported = client.get(f"/api/v1/stocks/data/{table}", params={"format": "arrow"})
    assert status["state"] == "complete", status
    # resumed: the stored window was not fetched again; the one the shutdown cut short was
    held = f"AAA {held_first}/{held_last}"
    assert requested(polygon) == [f"AAA {first}/{last}", held, held]
    stored = pa.ipc.open_stream(exported.content).read_all()
    assert stored.column("ts").cast(pa.int64()).to_pylist() == bars["t"].tolist()


async def test_a_job_that_outlasts_the_grace_period_is_cancelled_and_left_queued(clean: Runtime):
    series = FetchRequest(
        symbols=["GRC"],
        timespan="day",
        from_=dt.date(2023, 1, 2),
        to=dt.date(2023, 6, 30),
        source="synthetic",
    )
    await submit(clean.queue, clean.services.jobs, JobKind.FETCH, series, "admin")
    await drain_jobs(clean)
    gate = threading.Event()
    # every thread of the work pool busy: the indicator job waits for one, deaf to its stop event
    blockers = [asyncio.create_task(clean.services.work.run(gate.wait)) for _ in range(DEFAULT_THREADS)]
    try:
        request = IndicatorCalculateRequest(symbol="GRC", timeframe="1d", indicators=["rsi(14)"])
        job_id = (await submit(clean.queue, clean.services.jobs, JobKind.INDICATORS, request, "admin")).job_id
        worker = build_worker(clean)
        running = asyncio.create_task(worker.async_run())
        for _ in range(200):
            if (await clean.services.jobs.get(job_id)).state == "running":
                break
            await asyncio.sleep(0.05)
        began = time.monotonic()
        await stop_worker(worker, running, dt.timedelta(seconds=1))
        took = time.monotonic() - began
    finally:
        gate.set()
        await asyncio.gather(*blockers)
    status = await clean.services.jobs.get(job_id)
    assert (status.state, status.message, status.error) == ("queued", SHUTDOWN_MESSAGE, None)
    assert 1 <= took < 5, took
    assert running.done()
    # ARQ counted the cancelled run as a try; the next worker runs the job all the same
    await drain_jobs(clean)
    status = await clean.services.jobs.get(job_id)
    assert (status.state, status.error) == ("complete", None), status


async def test_a_job_a_shutdown_stops_is_put_on_the_queue_again_for_another_worker(
    clean: Runtime, polygon: PolygonLoopback
):
    start, end = dt.date(2024, 1, 2), dt.date(2024, 1, 5)
    polygon.add_bars("SHQ", 1, "minute", minute_bars(start, end))
    gate = threading.Event()
    polygon.inject(Fault.held(gate), times=1, path_contains="/SHQ/range/")
    request = FetchRequest(symbols=["SHQ"], timespan="minute", from_=start, to=end, source="polygon")
    try:
        job_id = (await submit(clean.queue, clean.services.jobs, JobKind.FETCH, request, "admin")).job_id
        worker = build_worker(clean)
        running = asyncio.create_task(worker.async_run())
        while not polygon.requests:  # the job asks for its window, held until the gate opens
            await asyncio.sleep(0.05)
        began = time.monotonic()
        await stop_worker(worker, running, dt.timedelta(seconds=SHUTDOWN_GRACE_S))
        took = time.monotonic() - began
    finally:
        gate.set()
    status = await clean.services.jobs.get(job_id)
    assert (status.state, status.message, status.error) == ("queued", SHUTDOWN_MESSAGE, None)
    assert took < 2, took  # it stopped when told, long before the grace period ends
    assert await clean.queue.zscore(QUEUE_NAME, job_id) is not None  # any live worker may take it now
    await drain_jobs(clean)
    status = await clean.services.jobs.get(job_id)
    assert (status.state, status.symbols[0].bars) == ("complete", 4 * 960)
