"""chart-data end to end over HTTP, as a ratio to the raw chDB query for the same buckets.

1.2M synthetic minute bars of one symbol are stored; the API runs under uvicorn on loopback in
this process (chDB belongs to one process) and is called with httpx. The baseline is the same
buckets computed by one hand-written ClickHouse query through the same client, with no API,
no Arrow encoding and no HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pyarrow as pa
import uvicorn

from api.app import create_app
from bench.common import minute_bars, p50, p99, report, start_runtime, timings
from tests.data import store_minute_dataset
from tests.process import free_port
from warehouse.clickhouse.buckets import bucket_sql

SYMBOL = "BENCH"
RUNS = 40

RAW_SQL = """
SELECT {bucket} AS b, argMin(open, ts) AS open, max(high) AS high, min(low) AS low,
       argMax(close, ts) AS close, sum(volume) AS volume
FROM bars FINAL
WHERE symbol = {{symbol:String}} AND timespan = '1m' AND adjusted
  AND ts >= {{start:DateTime64(3, 'UTC')}} AND ts <= {{end:DateTime64(3, 'UTC')}}
GROUP BY b ORDER BY b
"""
RAW_ROWS_SQL = """
SELECT ts, open, high, low, close, volume FROM bars FINAL
WHERE symbol = {symbol:String} AND timespan = '1m' AND adjusted
  AND ts >= {start:DateTime64(3, 'UTC')} AND ts <= {end:DateTime64(3, 'UTC')}
ORDER BY ts
"""


async def main() -> None:
    runtime = await start_runtime()
    start, end = dt.date(2016, 1, 1), dt.date(2024, 12, 31)
    bars = minute_bars(SYMBOL, start, end)
    await store_minute_dataset(runtime.services, "bench_1minute", SYMBOL, bars, start, end)
    first, last = bars.column("ts")[0].as_py(), bars.column("ts")[-1].as_py()
    week_start = dt.datetime(2024, 6, 10, tzinfo=dt.UTC)
    week_end = week_start + dt.timedelta(days=7)
    print(f"{bars.num_rows:,} minute bars stored; {RUNS} timed runs per case", flush=True)

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), port=port, log_config=None, access_log=False))
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn has no started event)
        await asyncio.sleep(0.05)
    rows: list[dict[str, Any]] = []
    try:
        admin = await runtime.auth.ensure_admin()
        key = (await runtime.auth.create_key(admin.username, "bench", "admin", None)).key
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=60, headers=headers
        ) as http:
            cases = [
                ("whole history, 2,000 points", first, last, 2000),
                ("one week, 2,000 points", week_start, week_end, 2000),
                ("one week, every bar", week_start, week_end, 20_000),
            ]
            for label, lo, hi, budget in cases:
                body = {
                    "symbol": SYMBOL,
                    "timeframe": "1m",
                    "from": lo.isoformat(),
                    "to": hi.isoformat(),
                    "max_points": budget,
                }
                answer = await http.post("/api/v1/stocks/chart-data", json=body)
                bucket = answer.headers["x-k2q-bucket"]
                returned = pa.ipc.open_stream(answer.content).read_all().num_rows

                shift = iter(range(1, 10_000))

                async def api_call(
                    body: dict[str, Any] = body, lo: dt.datetime = lo, shift: Iterator[int] = shift
                ) -> None:
                    # A window one millisecond wider each time: every request misses the slice cache.
                    fresh = body | {"from": (lo - dt.timedelta(milliseconds=next(shift))).isoformat()}
                    answer = await http.post("/api/v1/stocks/chart-data", json=fresh)
                    answer.raise_for_status()
                    assert answer.headers["x-k2q-cache"] == "miss"

                sql = RAW_ROWS_SQL if bucket == "1m" else RAW_SQL.format(bucket=bucket_sql(bucket, "ts"))
                params = {"symbol": SYMBOL, "start": lo, "end": hi}

                async def raw_query(sql: str = sql, params: dict[str, Any] = params) -> None:
                    await runtime.stack.clickhouse.run(
                        lambda client: client.query_arrow(sql, parameters=params)
                    )

                api = await timings(api_call, RUNS)
                raw = await timings(raw_query, RUNS)
                rows.append(
                    {
                        "case": label,
                        "bucket": bucket,
                        "rows": returned,
                        "api p50 ms": p50(api) * 1000,
                        "api p99 ms": p99(api) * 1000,
                        "raw chDB p50 ms": p50(raw) * 1000,
                        "ratio p50": p50(api) / p50(raw),
                    }
                )
                print(f"  {label}: done", flush=True)
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await serving
        await runtime.close()
    report("chart_data", rows)
