"""``/metrics``: admins only, and every figure moves by exactly what the requests and jobs did."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from api.runtime import Runtime
from pipelines.jobs.kinds import JobKind
from tests.conftest import app_client, drain_jobs
from tests.process import serve_app

FETCH = {
    "symbols": ["MTRC"],
    "timespan": "day",
    "from": "2024-01-01",
    "to": "2024-03-31",
    "source": "synthetic",
}
CHART_ROUTE = "/api/v1/stocks/chart-data"
JOB_ROUTE = "/api/v1/jobs/{job_id}"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of an exposition, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_only_admins_read_metrics(clean: Runtime, admin_key: str, team: dict[str, str]):
    async with app_client(clean) as anonymous, app_client(clean, team["vic"]) as viewer:
        assert (await anonymous.get("/metrics")).status_code == 401
        refused = await viewer.get("/metrics")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    async with app_client(clean, admin_key) as admin:
        answer = await admin.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")


async def test_requests_jobs_bars_caches_and_stores_are_counted(clean: Runtime, admin_key: str):
    async with app_client(clean, admin_key) as http:
        before = parse((await http.get("/metrics")).text)
        accepted = await http.post("/api/v1/stocks/fetch", json=FETCH)
        assert accepted.status_code == 202
        queued = parse((await http.get("/metrics")).text)
        await drain_jobs(clean)
        job = (await http.get(f"/api/v1/jobs/{accepted.json()['job_id']}")).json()
        assert job["state"] == "complete"
        chart = {"symbol": "MTRC", "timeframe": "1d"}
        cold = await http.post(CHART_ROUTE, json=chart)
        warm = await http.post(CHART_ROUTE, json=chart)
        missing = await http.get(f"/api/v1/jobs/{uuid.uuid4().hex}")
        after = parse((await http.get("/metrics")).text)

    assert (cold.headers["x-k2q-cache"], warm.headers["x-k2q-cache"]) == ("miss", "hit")
    assert missing.status_code == 404

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # the request latency histogram, by route template and status
    latency = "k2q_http_request_duration_seconds_count"
    assert grew(latency, method="POST", route=CHART_ROUTE, status="200") == 2
    assert grew(latency, method="GET", route=JOB_ROUTE, status="200") == 1
    assert grew(latency, method="GET", route=JOB_ROUTE, status="404") == 1
    assert grew(latency, method="POST", route="/api/v1/stocks/fetch", status="202") == 1
    # the fetch: queued (from the catalog), then run to its end; its bars counted by source
    assert value(queued, "k2q_jobs", kind=JobKind.FETCH.value, state="queued") == 1
    assert value(queued, "k2q_queue_depth") == 1
    assert value(after, "k2q_jobs", kind=JobKind.FETCH.value, state="queued") == 0
    assert value(after, "k2q_queue_depth") == 0
    assert grew("k2q_job_duration_seconds_count", kind=JobKind.FETCH.value, state="complete") == 1
    stored = sum(symbol["bars"] for symbol in job["symbols"])
    assert stored > 50
    assert grew("k2q_bars_ingested_total", source="synthetic") == stored
    # the chart: the shared slice cache missed then hit; the in-process bar cache was asked once
    assert grew("k2q_cache_requests_total", cache="slice", result="miss") == 1
    assert grew("k2q_cache_requests_total", cache="slice", result="hit") == 1
    assert (
        grew("k2q_cache_requests_total", cache="hot", result="hit")
        + grew("k2q_cache_requests_total", cache="hot", result="miss")
        == 1
    )
    assert grew("k2q_clickhouse_query_duration_seconds_count", kind="insert") >= 1
    # the stores, read at scrape time
    assert value(after, "k2q_redis_memory_bytes") > 100_000
    assert value(after, "k2q_postgres_pool_connections", state="size") >= 1
    assert {value(after, "k2q_store_up", store=name) for name in ("clickhouse", "postgres", "redis")} == {1}


async def test_websocket_clients_are_counted_while_connected(clean: Runtime, admin_key: str):
    async def clients(address: str) -> float:
        async with app_client(clean, admin_key) as http:
            return value(parse((await http.get("/metrics")).text), "k2q_websocket_clients")

    async with serve_app(clean) as address:
        before = await clients(address)
        headers = {"Authorization": f"Bearer {admin_key}"}
        url = f"ws://{address}/api/v1/ws"
        async with connect(url, additional_headers=headers), connect(url, additional_headers=headers):
            during = await clients(address)
        after = await clients(address)
    assert during - before == 2
    assert after == before


_COUNT = """
import sys
from warehouse.metrics import BARS_INGESTED, WEBSOCKET_CLIENTS
BARS_INGESTED.labels("polygon").inc(int(sys.argv[1]))
WEBSOCKET_CLIENTS.inc(int(sys.argv[1]))
if len(sys.argv) > 2:
    from warehouse.metrics import process_ended
    process_ended()
"""
_READ = """
import sys
from warehouse.metrics import exposition
sys.stdout.write(exposition([]).decode())
"""


def test_processes_sharing_a_directory_add_up(tmp_path: Path):
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "PATH": "/usr/bin:/bin"}

    def python(code: str, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code), *args],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        return done.stdout

    python(_COUNT, "3")
    python(_COUNT, "4")
    python(_COUNT, "5", "then end cleanly")
    samples = parse(python(_READ))
    assert value(samples, "k2q_bars_ingested_total", source="polygon") == 12
    # a live gauge leaves a process that ended cleanly out; the two others ended without saying so
    # (as after a SIGKILL), so their clients show until the directory is wiped
    assert value(samples, "k2q_websocket_clients") == 7
    assert len(list((tmp_path / "metrics").glob("counter_*.db"))) == 3
