"""The one job runner on the session's real stores: every kind starts, reports, cancels, fails, recovers."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import numpy as np
import pytest
from arq.jobs import Job

from api.runtime import Runtime
from pipelines.errors import SourceAuthError
from pipelines.jobs import runner
from pipelines.jobs.fetch import FAILED_MESSAGE
from pipelines.jobs.kinds import JobKind
from pipelines.jobs.recovery import recover_jobs
from pipelines.jobs.submit import record, submit
from schemas.datasets import FetchRequest
from schemas.events import EVENTS_CHANNEL, Event, FetchProgress
from schemas.flat_files import FlatFileRequest
from tests.conftest import drain_jobs
from tests.loopback.polygon import Fault, PolygonLoopback
from tests.loopback.polygon_flat import day_rows, write_day
from tests.pipelines.ingest.test_polygon_rest import minute_bars
from warehouse.errors import NotFound

SYNTHETIC = FetchRequest(
    symbols=["JOBA", "JOBB"],
    timespan="day",
    from_=dt.date(2024, 1, 2),
    to=dt.date(2024, 1, 31),
    source="synthetic",
)
DAYS = [dt.date(2024, 1, 2), dt.date(2024, 1, 3), dt.date(2024, 1, 4)]


@pytest.fixture
async def events(clean: Runtime) -> AsyncIterator[Events]:
    """The job events published from now on."""
    async with clean.stack.redis.pubsub() as pubsub:
        await pubsub.subscribe(EVENTS_CHANNEL)
        assert (await pubsub.get_message(timeout=5))["type"] == "subscribe"
        yield Events(pubsub)


class Events:
    def __init__(self, pubsub) -> None:
        self.pubsub = pubsub

    async def of(self, job_id: str) -> list[FetchProgress]:
        """The events published so far about ``job_id``, in order."""
        seen = []
        while (message := await self.pubsub.get_message(timeout=0.2)) is not None:
            event = msgspec.json.decode(message["data"], type=Event)
            if isinstance(event, FetchProgress) and event.job_id == job_id:
                seen.append(event)
        return seen


@pytest.fixture
def flat_files(tmp_path: Path) -> FlatFileRequest:
    """Three day files of two tickers, and the request that loads them."""
    rng = np.random.default_rng(3)
    for day in DAYS:
        write_day(tmp_path, "day", day, day_rows(day, "day", ["AAPL", "MSFT"], rng))
    return FlatFileRequest(source=str(tmp_path), timespan="day")


async def test_a_submitted_job_runs_on_the_worker_and_publishes_its_progress(clean: Runtime, events: Events):
    jobs = clean.services.jobs
    accepted = await submit(clean.queue, jobs, JobKind.FETCH, SYNTHETIC, "ana")
    assert accepted.status_url == f"/api/v1/jobs/{accepted.job_id}"
    queued = await jobs.get(accepted.job_id)
    assert (queued.kind, queued.state, queued.owner) == ("fetch", "queued", "ana")
    assert [(item.symbol, item.windows_total) for item in queued.symbols] == [("JOBA", 0), ("JOBB", 0)]
    info = await Job(accepted.job_id, clean.queue).info()
    assert info is not None
    assert (info.function, info.args[0], info.args[2]) == ("fetch", accepted.job_id, "ana")

    await drain_jobs(clean)

    status = await jobs.get(accepted.job_id)
    assert status.state == "complete", status.error
    assert status.message == "stored 42 bars for 2 of 2 symbols"
    assert [(item.symbol, item.bars, item.table) for item in status.symbols] == [
        ("JOBA", 21, "joba_1day_2024-01-02_2024-01-31"),
        ("JOBB", 21, "jobb_1day_2024-01-02_2024-01-31"),
    ]
    published = await events.of(accepted.job_id)
    assert {event.state for event in published[:-1]} == {"running"}
    assert published[-1].state == "complete"
    assert published[-1].owner == "ana"
    assert published[-1].symbols == status.symbols


async def test_a_cancel_stops_a_running_job_within_a_second(
    clean: Runtime, events: Events, polygon: PolygonLoopback
):
    start, end = dt.date(2024, 1, 2), dt.date(2024, 1, 5)
    polygon.add_bars("SLOW", 1, "minute", minute_bars(start, end))
    polygon.inject(Fault.slow(30), times=None, path_contains="/SLOW/range/")
    request = FetchRequest(symbols=["SLOW"], timespan="minute", from_=start, to=end, source="polygon")
    job_id = await record(clean.services.jobs, JobKind.FETCH, request, "ana")
    running = asyncio.create_task(runner.run_job(clean.services, JobKind.FETCH, job_id, request, "ana"))
    while not polygon.requests:  # the job asks for its window, which takes 30 s to answer
        await asyncio.sleep(0.05)

    cancelled = await runner.cancel_job(clean.services, job_id, "ana", admin=False)
    asked = time.monotonic()
    assert cancelled.state == "cancelled"
    assert await asyncio.wait_for(running, 5) == "cancelled"
    assert time.monotonic() - asked < 1.0

    status = await clean.services.jobs.get(job_id)
    assert status.state == "cancelled"
    assert status.message == "cancelled; stored 0 bars for 0 of 1 symbols (kept)"
    published = await events.of(job_id)
    assert published[-1].state == "cancelled"
    assert published[-1].symbols == status.symbols


async def test_a_job_cancelled_before_it_starts_does_not_run(
    clean: Runtime, events: Events, flat_files: FlatFileRequest
):
    accepted = await submit(clean.queue, clean.services.jobs, JobKind.FLAT_FILES, flat_files, "ana")
    with pytest.raises(NotFound):  # someone else's job is not theirs to cancel
        await runner.cancel_job(clean.services, accepted.job_id, "vic", admin=False)
    await runner.cancel_job(clean.services, accepted.job_id, "ana", admin=False)

    await drain_jobs(clean)

    status = await clean.services.jobs.get(accepted.job_id)
    assert (status.state, status.message, status.error) == ("cancelled", "cancelled", None)
    assert [(item.symbol, item.windows_done, item.bars) for item in status.symbols] == [("flat files", 0, 0)]
    assert await clean.services.catalog.all() == []
    assert [event.state for event in await events.of(accepted.job_id)] == ["cancelled", "cancelled"]


class Broken:
    """A fetcher or flat-file loader whose run raises ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def run(self, *args, **kwargs):
        raise self.error


async def test_a_failing_task_fails_the_job_in_words(
    clean: Runtime, events: Events, flat_files: FlatFileRequest
):
    services = clean.services
    moved = msgspec.structs.replace(flat_files, source=str(Path(flat_files.source) / "moved"))
    job_id = await record(services.jobs, JobKind.FLAT_FILES, moved, "ana")
    assert await runner.run_job(services, JobKind.FLAT_FILES, job_id, moved, "ana") == "failed"
    status = await services.jobs.get(job_id)
    assert (status.error, status.message) == (f"no such directory: {moved.source}", None)
    assert [event.state for event in await events.of(job_id)] == ["failed"]

    refused = dataclasses.replace(
        services, fetcher=Broken(SourceAuthError("polygon refused the key", source="polygon"))
    )
    job_id = await record(services.jobs, JobKind.FETCH, SYNTHETIC, "ana")
    assert await runner.run_job(refused, JobKind.FETCH, job_id, SYNTHETIC, "ana") == "failed"
    status = await services.jobs.get(job_id)
    assert (status.error, status.message) == ("polygon refused the key", FAILED_MESSAGE)

    buggy = dataclasses.replace(services, flat_files=Broken(ZeroDivisionError("a bug")))
    job_id = await record(services.jobs, JobKind.FLAT_FILES, flat_files, "ana")
    with pytest.raises(ZeroDivisionError):  # raised again, for the worker to log
        await runner.run_job(buggy, JobKind.FLAT_FILES, job_id, flat_files, "ana")
    status = await services.jobs.get(job_id)
    assert (status.state, status.error) == (
        "failed",
        f"internal error (ZeroDivisionError); see the log for job {job_id}",
    )
    assert [event.state for event in await events.of(job_id)] == ["failed"]


async def orphan(runtime: Runtime, job_id: str, *, beaten_ago: dt.timedelta) -> None:
    """Leave ``job_id`` as a worker killed mid-job leaves it: running, beaten last by a dead runner."""
    async with runtime.stack.pool.connection() as conn:
        await conn.execute(
            "UPDATE jobs SET state = 'running', runner = %s, heartbeat_at = now() - %s WHERE id = %s",
            ("dead-host:1:0", beaten_ago, job_id),
        )


async def test_recovery_queues_orphaned_jobs_of_every_kind_again(clean: Runtime, flat_files: FlatFileRequest):
    jobs = clean.services.jobs
    fetch_id = await record(jobs, JobKind.FETCH, SYNTHETIC, "ana")
    flat_id = await record(jobs, JobKind.FLAT_FILES, flat_files, "ana")
    beating_id = await record(jobs, JobKind.FETCH, SYNTHETIC, "ana")
    queued_id = await record(jobs, JobKind.FETCH, SYNTHETIC, "ana")  # recorded, then Redis lost it
    await orphan(clean, fetch_id, beaten_ago=dt.timedelta(minutes=5))
    await orphan(clean, flat_id, beaten_ago=dt.timedelta(minutes=5))
    await orphan(clean, beating_id, beaten_ago=dt.timedelta(seconds=1))  # another worker, alive

    assert await recover_jobs(jobs, clean.queue) == [fetch_id, flat_id, queued_id]
    # Where this process is the only runner (embedded mode), a job another process beat is orphaned too.
    assert await recover_jobs(jobs, clean.queue, only_runner=True) == [
        fetch_id,
        flat_id,
        beating_id,
        queued_id,
    ]
    await drain_jobs(clean)

    for job_id in (fetch_id, flat_id, beating_id, queued_id):
        status = await jobs.get(job_id)
        assert status.state == "complete", (job_id, status.error)
    flat = await jobs.get(flat_id)
    assert [(item.windows_done, item.windows_total, item.bars) for item in flat.symbols] == [(3, 3, 6)]
    assert flat.message == (
        "stored 6 bars from 3 of 3 files (2024-01-02 to 2024-01-04) into 2 unadjusted datasets"
    )
    async with clean.stack.pool.connection() as conn:
        cur = await conn.execute("SELECT runner FROM jobs WHERE id = %s", (flat_id,))
        assert await cur.fetchone() == (runner.RUNNER,)  # the flat-file job beat its heartbeat here
    assert await recover_jobs(jobs, clean.queue, only_runner=True) == []
