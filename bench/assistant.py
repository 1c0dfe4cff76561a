"""The assistant's own cost: the read-only SQL tool against raw chDB, and a chat turn against its tool.

1,000,000 synthetic minute bars are stored through the write path. Then:

* **SQL tool**: a daily aggregate over the whole series, and a one-row count, through
  ``run_readonly`` (ClickHouse parses and analyses the statement three times before it runs it)
  against the same SQL sent to chDB directly, in the same run; p50 of :data:`RUNS`.
* **Chat turn**: ``POST /chat/message`` through the app in process, a loopback OpenAI server
  answering at once (one ``calculate_indicator`` call, then the answer), a burst worker, until the
  session's turn is stored complete — against the tool's work alone (the same indicator read
  through chart-data). What is left is the assistant's overhead per turn: two model round trips
  over HTTP, the job, Postgres, events.

``python -m bench assistant``; results in ``bench/results/assistant.json``.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Final

from api.runtime import Runtime
from api.worker import build_worker
from bench.common import admin_client, p50, report, start_runtime, store_series, timings
from bench.strategies import random_walk_bars
from bench.strategy_runs import minute_table
from pipelines.assistant.providers.openai_chat import OpenAIChat
from pipelines.llm import ModelConfig
from schemas.bars import SeriesKey
from tests.loopback.llm import OpenAILoopback, Reply, ToolUse
from warehouse.clickhouse.assistant_sql import run_readonly

BARS: Final = 1_000_000
SYMBOL: Final = "BENCHA"
RUNS: Final = 20
TURNS: Final = 10
KEY: Final = "bench-key"
DAILY: Final = (
    "SELECT toDate(ts) AS day, avg(close) AS mean_close, sum(volume) AS volume FROM bars"
    f" WHERE symbol = '{SYMBOL}' GROUP BY day ORDER BY day"
)
COUNT: Final = f"SELECT count() FROM bars WHERE symbol = '{SYMBOL}'"


async def main() -> None:
    runtime = await start_runtime()
    rows: list[dict[str, Any]] = []
    try:
        bars = random_walk_bars(BARS, 21)
        ref = SeriesKey.of(symbol=SYMBOL, series="1m", adjusted=True)
        await store_series(runtime, ref, minute_table(bars), "bench")
        clickhouse = runtime.services.bars.clickhouse
        for name, sql in (("daily aggregate of 1M bars", DAILY), ("one-row count", COUNT)):

            async def through_tool(sql: str = sql) -> object:
                return await run_readonly(clickhouse, sql, max_rows=10_000)

            async def raw_chdb(sql: str = sql) -> object:
                return await clickhouse.run(lambda client: client.query(sql).result_rows)

            tool = [s * 1000 for s in await timings(through_tool, RUNS)]
            raw = [s * 1000 for s in await timings(raw_chdb, RUNS)]
            rows.append(
                {
                    "measurement": f"SQL tool: {name}",
                    "p50_ms": round(p50(tool), 1),
                    "baseline": "raw chDB, same SQL",
                    "baseline_ms": round(p50(raw), 1),
                    "ratio": round(p50(tool) / p50(raw), 2),
                    "overhead_ms": round(p50(tool) - p50(raw), 1),
                }
            )
        turn, alone = await _turns(runtime)
        rows.append(
            {
                "measurement": "chat turn: one calculate_indicator call, loopback model",
                "p50_ms": round(p50(turn), 1),
                "baseline": "the indicator read through chart-data",
                "baseline_ms": round(p50(alone), 1),
                "ratio": round(p50(turn) / p50(alone), 2),
                "overhead_ms": round(p50(turn) - p50(alone), 1),
            }
        )
    finally:
        await runtime.close()
    report("assistant", rows)


async def _turns(runtime: Runtime) -> tuple[list[float], list[float]]:
    turn: list[float] = []
    alone: list[float] = []
    with OpenAILoopback(api_key=KEY) as llm:
        provider = OpenAIChat("gpt-4.1-mini", api_key=KEY, base_url=llm.base_url, timeout=30)
        runtime.services = dataclasses.replace(runtime.services, model=ModelConfig(provider, 10**12))
        try:
            async with admin_client(runtime) as http:
                body = {"symbol": SYMBOL, "timeframe": "1d", "indicators": ["rsi(14)"], "max_points": 50_000}
                for _ in range(TURNS + 1):
                    started = time.perf_counter()
                    answer = await http.post(
                        "/api/v1/stocks/chart-data", json=body, headers={"Accept": "application/json"}
                    )
                    assert answer.status_code == 200, answer.text
                    alone.append((time.perf_counter() - started) * 1000)
                    call = ToolUse("calculate_indicator", {"symbol": SYMBOL, "spec": "rsi(14)", "last": 5})
                    llm.script(Reply(tool_calls=(call,)), Reply("RSI read."))
                    started = time.perf_counter()
                    accepted = await http.post("/api/v1/chat/message", json={"message": "RSI of BENCHA?"})
                    assert accepted.status_code == 202, accepted.text
                    await build_worker(runtime, burst=True).async_run()
                    history = await http.get(
                        "/api/v1/chat/history", params={"session_id": accepted.json()["session_id"]}
                    )
                    turn.append((time.perf_counter() - started) * 1000)
                    assert history.json()["sessions"][0]["state"] == "complete", history.text
        finally:
            await provider.aclose()
    return turn[1:], alone[1:]  # the first of each warms up
