"""A ClickHouse query over its time budget is the documented 504 problem, not a 500."""

from __future__ import annotations

import dataclasses

import httpx

from api.runtime import Runtime
from pipelines.charts.slices import ChartSlices
from pipelines.datasets import DatasetService
from tests.api.test_chart_slices import MINUTES
from tests.api.test_stocks import fetch
from tests.conftest import app_client
from warehouse.clickhouse.bars import BarStore


def over_budget(runtime: Runtime) -> Runtime:
    """``runtime`` with a bar store that stops every read after a microsecond (and no hot cache)."""
    services = runtime.services
    bars = BarStore(runtime.stack.clickhouse, time_budget_s=1e-6)
    tight = dataclasses.replace(
        services,
        bars=bars,
        datasets=DatasetService(services.catalog, bars, services.versions),
        charts=ChartSlices(
            services.catalog,
            bars,
            services.versions,
            services.charts.joins,
            work=services.work,
            hot_cache_bytes=0,
        ),
    )
    return dataclasses.replace(runtime, services=tight)


def assert_504_problem(answer: httpx.Response) -> None:
    assert answer.status_code == 504, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == 504
    assert problem["title"] == "Query took too long"
    assert "time budget" in problem["detail"]


async def test_a_chart_or_page_over_the_query_budget_is_a_504_problem(
    client: httpx.AsyncClient, clean: Runtime, admin_key: str
) -> None:
    await fetch(client, clean, MINUTES)
    table = (await client.get("/api/v1/stocks/tables")).json()[0]["table"]
    chart = {"symbol": "SLC", "timeframe": "1m", "indicators": ["sma(20)"]}
    async with app_client(over_budget(clean), admin_key) as tight:
        assert_504_problem(await tight.post("/api/v1/stocks/chart-data", json=chart))
        assert_504_problem(
            await tight.post("/api/v1/stocks/chart-data", json=chart, headers={"Accept": "application/json"})
        )
        assert_504_problem(await tight.get(f"/api/v1/stocks/data/{table}"))
    # Within the normal budget the same requests answer (and the 504 was not cached).
    answer = await client.post("/api/v1/stocks/chart-data", json=chart)
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-k2q-cache"] == "miss"
    assert (await client.get(f"/api/v1/stocks/data/{table}")).status_code == 200
