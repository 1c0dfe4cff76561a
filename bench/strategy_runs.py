"""Strategies beyond the simulation: the run from text, the audit, a sweep, and a job end to end.

Over the same 1,000,000 synthetic minute bars and the same SMA 10/20 crossover as
:mod:`bench.strategies`, written in the strategy language (:data:`TEXT`). The baseline is the
bare NumPy strategy *with its signals* (TA-Lib's two SMAs, the crossings, the equity by
``cumsum``), measured in the same run:

- **run from text** — ``parse_program`` → ``evaluate`` → ``simulate`` → ``compute_metrics``;
  its trades must equal the untimed reference path's (the NumPy-built signals simulated).
- **look-ahead audit** — the replays on prefixes, as a share of the run from text (≤ 50% more).
- **sweep** — 100 combinations (fast 5…14 × slow 20…38) through ``sweeps.sweep`` with its shared
  indicator cache; one row's metrics must equal a single run's.
- **screen** — ``POST /screens`` of :data:`SCREEN` over :data:`SCREEN_SYMBOLS` synthetic symbols of
  ten years of daily bars (fetched through the real path), against a naive loop over the same
  series (each read whole, TA-Lib's RSI and SMA, the last bar tested); the matches must agree.
- **end to end** — the bars stored through the write path, ``POST /strategies/apply`` through the
  app in process, a burst worker, until ``strategy_applied`` arrives on Redis pub/sub (the run
  loaded, computed, audited, its trades and equity stored); best of :data:`JOB_RUNS`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any, Final

import httpx
import msgspec
import numpy as np
import pyarrow as pa
import talib

from api.runtime import Runtime
from api.worker import build_worker
from bench.common import admin_client, start_runtime, store_series
from bench.strategies import MinuteBars, best_ms, crossover_signals, numpy_crossover_equity
from pipelines.indicators.own import OwnContext
from pipelines.indicators.specs import BucketSeries
from pipelines.strategies.audit import audit, trace_for
from pipelines.strategies.backtest import BacktestSettings, run_backtest, simulate_signals
from pipelines.strategies.language.evaluate import StrategyInputs, resolve_params
from pipelines.strategies.language.syntax import parse_program
from pipelines.strategies.sweeps import combinations, sweep
from schemas.bars import SeriesKey
from schemas.datasets import FetchRequest
from schemas.events import EVENTS_CHANNEL
from schemas.strategies import StrategyCreate
from warehouse.catalog.strategy_runs import RunOutcome

TEXT: Final = """\
fast = param(10, min=2, max=100)
slow = param(20, min=5, max=400)
long_entry = crossover(sma(close, fast), sma(close, slow))
short_entry = crossunder(sma(close, fast), sma(close, slow))
"""
GRID: Final = {"fast": [float(v) for v in range(5, 15)], "slow": [float(v) for v in range(20, 40, 2)]}
RUNS: Final = 5
JOB_RUNS: Final = 3
SYMBOL: Final = "BENCHS"
SCREEN: Final = "rsi(close, 14) < 30 or close > sma(close, 200)"
SCREEN_SYMBOLS: Final = 100


def _inputs(bars: MinuteBars) -> StrategyInputs:
    ones = np.ones(len(bars))
    series = BucketSeries(
        ts=bars.ts, open=bars.open, high=bars.high, low=bars.low, close=bars.close, volume=ones
    )
    return StrategyInputs(bars=series, context=OwnContext(width="1m", session="extended"))


def language_figures(bars: MinuteBars) -> list[dict[str, Any]]:
    """The run from text, the audit and a 100-combination sweep, against bare NumPy with its signals."""
    inputs = _inputs(bars)
    settings = BacktestSettings()
    reference = simulate_signals(inputs.bars, crossover_signals(bars.close, 10, 20), settings)

    def from_text() -> Any:
        program = parse_program(TEXT)
        return run_backtest(program, inputs, resolve_params(program, {}), settings)

    result = from_text()
    assert np.array_equal(result.simulation.trades.entry_bar, reference.simulation.trades.entry_bar)
    assert np.allclose(result.simulation.equity, reference.simulation.equity, rtol=1e-12)
    numpy_ms = best_ms(lambda: numpy_crossover_equity(bars, crossover_signals(bars.close, 10, 20)))
    text_ms = best_ms(from_text)

    program = parse_program(TEXT)
    params = resolve_params(program, {})
    trace = trace_for(len(bars))
    run_backtest(program, inputs, params, settings, trace=trace)
    checked = audit(program, inputs, params, trace)
    assert not checked.uses_future_data
    audit_ms = best_ms(lambda: audit(program, inputs, params, trace))
    traced_ms = best_ms(lambda: run_backtest(program, inputs, params, settings, trace=trace_for(len(bars))))

    combos = combinations(program, params, GRID)
    assert len(combos) == 100
    began = time.perf_counter()
    table = sweep(program, inputs, combos, settings, "sharpe", GRID)
    sweep_ms = (time.perf_counter() - began) * 1000
    row = next(r for r in table.rows if r.params == {"fast": 7.0, "slow": 30.0})
    single = run_backtest(program, inputs, resolve_params(program, {"fast": 7, "slow": 30}), settings)
    assert row.metrics == single.metrics

    baseline = "bare NumPy: TA-Lib SMAs, crossings, cumsum equity"
    print(
        f"run from text: {len(result.simulation.trades):,} trades, as the reference path; "
        f"audit cut points {checked.cut_points}",
        flush=True,
    )
    return [
        _row(baseline, numpy_ms, baseline, numpy_ms, "-"),
        _row("whole run from strategy text", text_ms, baseline, numpy_ms, "≤ 100 ms"),
        _row("run from text, traced for the audit", traced_ms, "the run from text", text_ms, "-"),
        _row("look-ahead audit: the 2 prefix replays alone", audit_ms, "the run from text", text_ms, "-"),
        _row(
            "look-ahead audit (tracing + 2 prefix replays)",
            traced_ms - text_ms + audit_ms,
            "the run from text",
            text_ms,
            "≤ 0.5× the run",
        ),
        _row("sweep of 100 combinations", sweep_ms, baseline, numpy_ms, "≤ 2,000 ms"),
    ]


async def end_to_end_figures(bars: MinuteBars) -> list[dict[str, Any]]:
    """``POST /strategies/apply`` → ``strategy_applied``, over the bars stored through the write path."""
    runtime = await start_runtime()
    try:
        await store_series(
            runtime, SeriesKey.of(symbol=SYMBOL, series="1m", adjusted=True), minute_table(bars), "bench"
        )
        strategy = await runtime.services.strategies.create(StrategyCreate(name="bench", code=TEXT), "admin")
        body = {"strategy": strategy.id, "symbol": SYMBOL, "timeframe": "1m"}
        walls = []
        async with admin_client(runtime) as http:
            for run in range(1, JOB_RUNS + 1):
                wall, event = await _job(runtime, http, body)
                walls.append(wall)
                print(
                    f"  apply job run {run}: {wall:,.0f} ms ({event['duration_ms']:,.0f} ms inside the job)"
                )
            stored = (await http.get(f"/api/v1/strategies/runs/{event['run_id']}?trades_limit=0")).json()
        storage = await _storage_figures(runtime, event["run_id"])
    finally:
        await runtime.close()
    assert stored["pin"]["bars"] == len(bars), stored["pin"]
    expected = simulate_signals(_inputs(bars).bars, crossover_signals(bars.close, 10, 20), BacktestSettings())
    assert stored["trades_total"] == len(expected.simulation.trades), stored["trades_total"]
    return [_row("apply job end to end: POST → stored → event", min(walls), "-", min(walls), "-"), *storage]


async def _storage_figures(runtime: Runtime, run_id: str) -> list[dict[str, Any]]:
    """Storing a run's trades and 1M-bar equity curve: Postgres (what runs do) against ClickHouse."""
    repository = runtime.services.strategy_runs.runs
    ts, equity = await repository.equity(run_id)
    trades = await repository.trades(run_id)
    run = await repository.get(run_id, trades_limit=0)
    assert run.pin is not None
    outcome = RunOutcome(pin=run.pin, params={}, trades=trades, equity_ts=ts, equity=equity, duration_ms=0)
    postgres = []
    for _ in range(RUNS):
        began = time.perf_counter()
        await repository.complete(run_id, outcome)
        postgres.append((time.perf_counter() - began) * 1000)
    curve = pa.table({"run_id": pa.array([run_id] * len(ts)), "ts": ts, "equity": equity})
    table = "bench_run_equity"
    await runtime.stack.clickhouse.run(
        lambda c: c.command(
            f"CREATE TABLE IF NOT EXISTS {table} (run_id String, ts Int64, equity Float64)"
            " ENGINE = MergeTree ORDER BY (run_id, ts)"
        )
    )
    clickhouse = []
    for _ in range(RUNS):
        began = time.perf_counter()
        await runtime.stack.clickhouse.run(lambda c: c.insert_arrow(table, curve))
        clickhouse.append((time.perf_counter() - began) * 1000)
    label = f"{trades.num_rows:,} trades and {len(ts):,} equity points"
    return [
        _row(f"store a run in Postgres ({label}, Arrow + zstd)", min(postgres), "-", min(postgres), "-"),
        _row(
            f"the equity points alone into ClickHouse ({len(ts):,} rows)",
            min(clickhouse),
            "Postgres",
            min(postgres),
            "-",
        ),
    ]


async def screen_figures() -> list[dict[str, Any]]:
    """A screen over a universe of daily series, against a naive per-symbol loop."""
    runtime = await start_runtime()
    try:
        symbols = [f"SCR{i:03d}" for i in range(SCREEN_SYMBOLS)]
        today = dt.date.today()
        began = time.perf_counter()
        await runtime.services.fetcher.run(
            FetchRequest(symbols=symbols, timespan="day", from_=today.replace(year=today.year - 10), to=today,
                         source="synthetic")
        )  # fmt: skip
        print(
            f"{SCREEN_SYMBOLS} symbols of daily bars stored in {time.perf_counter() - began:.1f} s",
            flush=True,
        )
        async with admin_client(runtime) as http:

            async def screen() -> set[str]:
                answer = await http.post("/api/v1/screens", json={"expression": SCREEN, "limit": 1000})
                assert answer.status_code == 200, answer.text
                return {match["symbol"] for match in answer.json()["matches"]}

            async def naive() -> set[str]:
                found = set()
                for symbol in symbols:
                    ref = SeriesKey.of(symbol=symbol, series="1d", adjusted=True)
                    series = BucketSeries.of(await runtime.services.bars.bucket_series(ref, "1d"))
                    rsi, sma = talib.RSI(series.close, 14), talib.SMA(series.close, 200)
                    if rsi[-1] < 30 or series.close[-1] > sma[-1]:
                        found.add(symbol)
                return found

            matched = await screen()
            assert matched == await naive(), "the screen and the naive loop disagree"
            screen_ms = min([await _async_ms(screen) for _ in range(RUNS)])
            naive_ms = min([await _async_ms(naive) for _ in range(RUNS)])
    finally:
        await runtime.close()
    print(f"screen: {len(matched)} of {SCREEN_SYMBOLS} symbols match", flush=True)
    return [
        _row(
            f"screen of {SCREEN_SYMBOLS} daily series",
            screen_ms,
            "naive per-symbol loop",
            naive_ms,
            "about 1 s",
        )
    ]


async def _async_ms(fn: Any) -> float:
    began = time.perf_counter()
    await fn()
    return (time.perf_counter() - began) * 1000


def minute_table(bars: MinuteBars) -> pa.Table:
    """``bars`` as the write path takes them."""
    return pa.table(
        {
            "ts": pa.array(bars.ts, type=pa.timestamp("ms", tz="UTC")),
            "open": bars.open,
            "high": bars.high,
            "low": bars.low,
            "close": bars.close,
            "volume": np.ones(len(bars)),
            "vwap": pa.nulls(len(bars), pa.float64()),
            "transactions": pa.nulls(len(bars), pa.uint32()),
        }
    )


async def _job(
    runtime: Runtime, http: httpx.AsyncClient, body: dict[str, Any]
) -> tuple[float, dict[str, Any]]:
    pubsub: Any = runtime.stack.redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(EVENTS_CHANNEL)
    try:
        began = time.perf_counter()
        answer = await http.post("/api/v1/strategies/apply", json=body)
        assert answer.status_code == 202, answer.text
        run_id = answer.json()["run_id"]
        listening = asyncio.create_task(_applied(pubsub, run_id))
        worker = asyncio.create_task(build_worker(runtime, burst=True).async_run())
        arrived, event = await asyncio.wait_for(listening, 600)
        await worker
    finally:
        await pubsub.aclose()
    assert event["status"] == "complete", event
    return (arrived - began) * 1000, event


async def _applied(pubsub: Any, run_id: str) -> tuple[float, dict[str, Any]]:
    async for message in pubsub.listen():
        if message.get("type") != "message":
            continue
        event = msgspec.json.decode(message["data"])
        if event.get("type") == "strategy_applied" and event.get("run_id") == run_id:
            return time.perf_counter(), event
    raise RuntimeError("the event subscription ended")


def _row(measurement: str, ms: float, baseline: str, baseline_ms: float, target: str) -> dict[str, Any]:
    return {
        "measurement": measurement,
        "ms": ms,
        "baseline": baseline,
        "baseline ms": baseline_ms,
        "ratio": ms / baseline_ms,
        "target": target,
    }
