"""Real stores for the whole session: chDB in a temp dir, embedded PostgreSQL and Redis.

One runtime is started per session (chDB belongs to one process); each test that writes starts
from empty stores through the ``clean`` fixture.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from clickhouse_connect.driver.client import Client

from api.app import create_app
from api.runtime import Runtime
from api.settings import PolygonSettings, Settings, StoreSettings
from api.worker import build_worker
from tests.loopback.polygon import PolygonLoopback

POLYGON_KEY = "loopback-key"


@pytest.fixture(scope="session")
def polygon() -> Iterator[PolygonLoopback]:
    """A loopback Polygon server the session runtime's Polygon source points at."""
    with PolygonLoopback(api_key=POLYGON_KEY) as server:
        yield server


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, polygon: PolygonLoopback) -> Settings:
    return Settings(
        stores=StoreSettings(data_dir=tmp_path_factory.mktemp("k2q-data")),
        polygon=PolygonSettings(api_key=POLYGON_KEY, base_url=polygon.base_url, max_in_flight=8),
        web_dist=Path("/nonexistent"),
    )


@pytest.fixture(scope="session")
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    runtime = await Runtime.start(settings)
    try:
        yield runtime
    finally:
        await runtime.close()


@pytest.fixture(scope="session")
async def admin_key(runtime: Runtime) -> str:
    """An admin API key for the session's app, owned by the user ``admin`` (other tests keep that user)."""
    if await runtime.auth.users.by_name("admin") is None:
        await runtime.auth.users.create("admin", None, "admin")
    return (await runtime.auth.create_key("admin", "tests", "admin", None)).key


def _truncate(client: Client, *, table: str) -> None:
    client.command(f"TRUNCATE TABLE IF EXISTS {table}")


@pytest.fixture
async def clean(runtime: Runtime, polygon: PolygonLoopback) -> Runtime:
    """Empty bar store, catalog and queue; a loopback Polygon with no bars and no faults."""
    for table in ("bars", "indicator_values", "projection_values"):
        await runtime.stack.clickhouse.run(functools.partial(_truncate, table=table))
    async with runtime.stack.pool.connection() as conn:
        await conn.execute(
            "TRUNCATE datasets, dataset_quality, strategies, strategy_versions, strategy_runs,"
            " strategy_run_data, jobs, fetch_windows, series_claims, indicator_outputs, projections,"
            " projection_evaluations, chat_sessions, chat_messages, agent_tasks, agent_steps, agent_usage"
        )
    await runtime.stack.redis.flushdb()
    polygon.reset()
    return runtime


@pytest.fixture
async def client(clean: Runtime, admin_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """The real app over HTTP semantics, in process, calling as an admin."""
    async with app_client(clean, admin_key) as http:
        yield http


def app_client(runtime: Runtime, key: str | None = None) -> httpx.AsyncClient:
    """An HTTP client of a fresh app over ``runtime``, sending ``key`` when given."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    transport = httpx.ASGITransport(app=create_app(runtime), client=("127.0.0.1", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://k2q.test", headers=headers)


async def drain_jobs(runtime: Runtime) -> None:
    """Run every queued job to completion with a burst worker."""
    # Not worker.close(): it would close the runtime's shared queue connection.
    await build_worker(runtime, burst=True).async_run()


@pytest.fixture
async def team(clean: Runtime) -> dict[str, str]:
    """API keys of two analysts (``ana``, ``bea``) and a viewer (``vic``); no other user but the admin."""
    from api.auth.credentials import hash_password

    async with clean.stack.pool.connection() as conn:
        await conn.execute("DELETE FROM users WHERE username <> 'admin'")
    found = {}
    for name, role in (("ana", "analyst"), ("bea", "analyst"), ("vic", "viewer")):
        await clean.auth.users.create(name, hash_password("a long password"), role)
        found[name] = (await clean.auth.create_key(name, "tests", None, None)).key
    return found
