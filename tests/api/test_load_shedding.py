"""Heavy requests under load: the event loop stays free, and past the queue requests get 503 at once.

Twenty chart requests with indicators over a symbol's whole minute history are sent together to
the real app under uvicorn; meanwhile ``/health`` is asked again and again and must keep answering
within 50 ms (the blocking steps run in the work pool, never on the event loop). With a pool of one
slot and no queue, requests past it are refused with 503 and ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time

import httpx
import pytest

from api.runtime import Runtime
from pipelines.ingest.sources.synthetic import generate_bars
from pipelines.work_pool import Overloaded, WorkPool
from schemas.bars import SeriesKey
from tests.conftest import app_client
from tests.data import store_minute_dataset
from tests.process import serve_app

SYMBOL = "LOAD"
START, END = dt.date(2024, 1, 2), dt.date(2024, 3, 28)
HEAVY = {
    "symbol": SYMBOL,
    "timeframe": "1m",
    "max_points": 5_000,
    "indicators": ["sma(200)", "ema(50)", "rsi", "macd", "bbands(20,2,2)", "atr", "adx", "stoch"],
}


@pytest.fixture
async def minutes(clean: Runtime) -> Runtime:
    bars = generate_bars(SeriesKey(symbol=SYMBOL, multiplier=1, timespan="minute"), START, END)
    await store_minute_dataset(clean.services, "load_1minute", SYMBOL, bars, START, END)
    return clean


async def test_the_pool_admits_its_slots_and_queue_then_refuses():
    pool = WorkPool(slots=1, queue=1, threads=1)
    release = asyncio.Event()
    entered: list[int] = []

    async def hold(index: int) -> None:
        async with pool.admit():
            entered.append(index)
            await release.wait()

    first, second = asyncio.create_task(hold(1)), asyncio.create_task(hold(2))
    await asyncio.sleep(0.01)
    assert entered == [1]
    assert pool.waiting == 1
    with pytest.raises(Overloaded, match="try again in 1 s"):
        async with pool.admit():
            pass
    release.set()
    await asyncio.gather(first, second)
    assert entered == [1, 2]
    assert await pool.run(sum, [1, 2, 3]) == 6
    pool.close()


async def test_health_answers_within_50_ms_while_heavy_charts_run(minutes, admin_key):
    async with serve_app(minutes) as address:
        base = f"http://{address}"
        headers = {"Authorization": f"Bearer {admin_key}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as http:
            warm = await http.post("/api/v1/stocks/chart-data", json=HEAVY)
            assert warm.status_code == 200, warm.text
            assert int(warm.headers["X-K2Q-Rows"]) > 5_000 // 2

            async def chart(index: int) -> int:
                body = HEAVY | {"max_points": 5_000 - index}  # no two alike: no cache hits
                return (await http.post("/api/v1/stocks/chart-data", json=body)).status_code

            charts = asyncio.gather(*(chart(index) for index in range(20)))
            latencies: list[float] = []
            async with httpx.AsyncClient(base_url=base, timeout=10) as probe:
                while not charts.done():
                    began = time.perf_counter()
                    answer = await probe.get("/health")
                    latencies.append((time.perf_counter() - began) * 1000)
                    assert answer.status_code == 200
                    await asyncio.sleep(0.02)
            statuses = await charts
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(200) >= 4, statuses
    latencies.sort()
    assert len(latencies) >= 10, latencies
    # Every probe but the slowest (a noisy machine may stall any process once) within 50 ms.
    assert latencies[-2] < 50, " ".join(f"{x:.0f}" for x in latencies)


async def test_requests_past_the_queue_get_503_with_retry_after(minutes, admin_key):
    tight = dataclasses.replace(minutes.services, work=WorkPool(slots=1, queue=0))
    runtime = dataclasses.replace(minutes, services=tight)
    async with app_client(runtime, admin_key) as http:
        answers = await asyncio.gather(
            *(
                http.post("/api/v1/stocks/chart-data", json=HEAVY | {"max_points": 4_000 - index})
                for index in range(4)
            )
        )
    statuses = sorted(answer.status_code for answer in answers)
    assert (statuses[0], statuses[-1]) == (200, 503), statuses
    refused = next(answer for answer in answers if answer.status_code == 503)
    assert refused.headers["Retry-After"] == "1"
    assert refused.headers["content-type"] == "application/problem+json"
    assert "busy" in refused.json()["detail"]
    tight.work.close()
