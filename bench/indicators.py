"""Indicators as stored series: calculating, charting, live updates and the whole catalog, as ratios.

One symbol's 1,000,000 synthetic minute bars are stored through the write path
(``services.writer``, its dataset registered and rollups built). Every measurement is a ratio
to a baseline measured in the same run:

1. **calculate job** — ``POST /api/v1/indicators/calculate`` of six indicators (:data:`SIX`)
   at ``1m``, through the app in process (``httpx.ASGITransport``), run by a burst worker started
   when the POST answers; the clock stops when the sixth ``indicator_calculated`` event of the job
   arrives on Redis pub/sub. Cold: the symbol's stored outputs (registry rows and values) are
   deleted before each of :data:`JOB_RUNS` runs; best and median reported. Baseline: TA-Lib's six
   functions on the same contiguous NumPy arrays (best of :data:`RAW_RUNS`).
2. **chart-data** with the six joined, over the whole history (2,000 points: the server picks the
   bucket, the six stored at it first) and over one week at ``1m`` (every bar), against the same
   request without indicators. Each request's window starts a millisecond earlier than any before,
   so the shared Redis slice cache always misses; *cold* requests go through a fresh
   :class:`~pipelines.charts.slices.ChartSlices` (empty hot cache, rollups not yet checked), as a
   freshly started API would, *warm* ones through one that has served the window before.
3. **one live minute** — a new minute bar through ``services.writer.write``, then the timed
   ``services.indicators.current(ref, "1m", "extended", six, written=span)``: the extension
   path, with its parts (Redis version, Postgres registry reads and saves, ClickHouse reads of
   the stored tail and of the bars, the compute in the work pool, the ClickHouse write), against
   TA-Lib's six over the whole arrays and against a full recompute through the service.
4. **the catalog** — every chartable TA-Lib function at its defaults through
   :func:`~pipelines.indicators.specs.compute` on the 1M buckets (best of two each), against raw
   ``talib.SMA`` of the close as the unit.

``python -m bench indicators``; results in ``bench/results/indicators*.json``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import itertools
import statistics
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Final

import httpx
import msgspec
import numpy as np
import pyarrow as pa
import talib

from api.runtime import Runtime
from api.worker import build_worker
from bench.common import admin_client, minute_bars, p50, report, start_runtime, store_series
from pipelines.charts.slices import ChartSlices
from pipelines.indicators.catalog import catalog
from pipelines.indicators.live_tails import LiveTails
from pipelines.indicators.own import OwnContext
from pipelines.indicators.specs import BucketSeries, IndicatorSpec, compute, parse_indicator
from pipelines.ingest.sources.feeds import bars_batch
from pipelines.services import Services
from schemas.bars import SeriesKey
from schemas.events import EVENTS_CHANNEL

SYMBOL: Final = "INDB"
BARS: Final = 1_000_000
FIRST_DAY, LAST_DAY = dt.date(2016, 1, 1), dt.date(2021, 12, 31)
"""Generated days; the first :data:`BARS` minute bars of them are stored."""
SIX: Final = ("sma(20)", "ema(20)", "rsi(14)", "macd(12,26,9)", "bbands(20,2,2)", "atr(14)")
JOB_RUNS: Final = 3
RAW_RUNS: Final = 9
CHART_WARMUP, CHART_RUNS = 3, 10
LIVE_WARMUP, LIVE_RUNS = 3, 20
FULL_RUNS: Final = 2
CATALOG_RUNS: Final = 2
MINUTE_MS: Final = 60_000
EVENT_TIMEOUT_S: Final = 300.0


async def main() -> None:
    runtime = await start_runtime()
    summary: list[dict[str, Any]] = []
    try:
        ref, series = await _seed(runtime)
        specs = [parse_indicator(text) for text in SIX]
        raw_six = _best_ms(lambda: _six_raw(series), RAW_RUNS)
        print(f"{len(series):,} minute bars stored; TA-Lib's six over them: {raw_six:.1f} ms", flush=True)
        async with admin_client(runtime) as http:
            summary += await _calculate(runtime, http, ref, raw_six)
            summary += await _charts(runtime, http, series)
        summary += await _live(runtime, ref, specs, raw_six)
    finally:
        await runtime.close()
    summary += _catalog(series)
    print("\nindicators: each measurement against its baseline, measured in the same run\n")
    report("indicators", summary)


# --- seeding ---------------------------------------------------------------------------------------


async def _seed(runtime: Runtime) -> tuple[SeriesKey, BucketSeries]:
    """Store :data:`BARS` minute bars of :data:`SYMBOL` through the write path; their 1m buckets."""
    services = runtime.services
    bars = minute_bars(SYMBOL, FIRST_DAY, LAST_DAY).slice(0, BARS)
    assert bars.num_rows == BARS, bars.num_rows
    ref = SeriesKey.of(symbol=SYMBOL, series="1m", adjusted=True)
    began = time.perf_counter()
    await store_series(runtime, ref, bars, "benchmarking indicators")
    print(f"stored through the write path in {time.perf_counter() - began:.1f} s", flush=True)
    series = BucketSeries.of(await services.bars.bucket_series(ref, "1m"))
    assert len(series) == BARS, len(series)
    return ref, series


def _six_raw(series: BucketSeries) -> None:
    """TA-Lib's functions of :data:`SIX` on the arrays themselves: no specs, no copies."""
    close = series.close
    talib.SMA(close, 20)
    talib.EMA(close, 20)
    talib.RSI(close, 14)
    talib.MACD(close, 12, 26, 9)
    talib.BBANDS(close, 20, 2, 2)
    talib.ATR(series.high, series.low, close, 14)


def _samples_ms(fn: Callable[[], object], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def _best_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up
    return min(_samples_ms(fn, runs))


# --- where the time goes ---------------------------------------------------------------------------


class _Probe:
    """Time spent in some async methods of some objects while active, added up by label.

    The methods are shadowed by timed wrappers on the instances and restored on exit.
    """

    def __init__(self, targets: list[tuple[object, str, str]]) -> None:
        self.targets = targets
        self.seconds: dict[str, float] = defaultdict(float)

    def __enter__(self) -> _Probe:
        for target, name, label in self.targets:
            setattr(target, name, self._timed(getattr(target, name), label))
        return self

    def __exit__(self, *exc: object) -> None:
        for target, name, _ in self.targets:
            delattr(target, name)

    def _timed(self, fn: Callable[..., Awaitable[Any]], label: str) -> Callable[..., Awaitable[Any]]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - began

        return timed

    def take(self) -> dict[str, float]:
        """Milliseconds by label since the last take, every label present."""
        taken = {label: self.seconds.get(label, 0.0) * 1000 for _, _, label in self.targets}
        self.seconds.clear()
        return taken


def _probe(runtime: Runtime) -> _Probe:
    outputs = runtime.services.indicators
    return _Probe(
        [
            (outputs.versions, "current", "Redis version"),
            (outputs.registry, "get", "Postgres registry get"),
            (outputs.values, "read", "ClickHouse read of stored values"),
            (outputs.bars, "bucket_series", "ClickHouse read of bars"),
            (outputs.work, "run", "compute (work pool)"),
            (outputs.values, "write_many", "ClickHouse write"),
            (outputs.registry, "save", "Postgres registry save"),
        ]
    )


# --- 1. the calculate job --------------------------------------------------------------------------


async def _calculate(
    runtime: Runtime, http: httpx.AsyncClient, ref: SeriesKey, raw_six: float
) -> list[dict[str, Any]]:
    services = runtime.services
    body = {"symbol": SYMBOL, "timeframe": "1m", "indicators": list(SIX)}
    walls: list[float] = []
    details: list[dict[str, Any]] = []
    with _probe(runtime) as probe:
        for run in range(1, JOB_RUNS + 1):
            await services.indicators.forget_series(ref)  # cold: nothing stored
            pubsub: Any = runtime.stack.redis.pubsub(ignore_subscribe_messages=True)
            await pubsub.subscribe(EVENTS_CHANNEL)
            try:
                probe.take()
                began = time.perf_counter()
                answer = await http.post("/api/v1/indicators/calculate", json=body)
                posted = time.perf_counter()
                assert answer.status_code == 202, answer.text
                job_id = answer.json()["job_id"]
                listening = asyncio.create_task(_job_events(pubsub, job_id, len(SIX)))
                worker = asyncio.create_task(build_worker(runtime, burst=True).async_run())
                try:
                    received, events = await asyncio.wait_for(listening, EVENT_TIMEOUT_S)
                except TimeoutError:
                    status = await services.jobs.get(job_id)
                    raise RuntimeError(f"no {len(SIX)} events from job {job_id}: {status}") from None
                await worker
            finally:
                await pubsub.aclose()
            assert all(not event["reused"] for event in events), events
            wall = (received - began) * 1000
            walls.append(wall)
            parts = probe.take()
            row: dict[str, Any] = {
                "run": run,
                "wall ms": wall,
                "POST answered ms": (posted - began) * 1000,
                "rows": events[0]["rows"],
            }
            row |= {name: ms for name, ms in parts.items() if ms}
            row["other (queue, job, events) ms"] = wall - sum(parts.values())
            details.append(row)
            print(f"  calculate job run {run}: {wall:,.0f} ms", flush=True)
    print(f"\ncalculate job: POST → sixth indicator_calculated event, cold, {BARS:,} 1m bars\n")
    report("indicators_job", details)
    baseline = "TA-Lib's six on the arrays"
    return [
        _row("calculate job, POST → last event, best", min(walls), baseline, raw_six, "≤ 1 s"),
        _row(
            "calculate job, POST → last event, median", statistics.median(walls), baseline, raw_six, "≤ 1 s"
        ),
    ]


async def _job_events(pubsub: Any, job_id: str, count: int) -> tuple[float, list[dict[str, Any]]]:
    """When the ``count``-th ``indicator_calculated`` event of ``job_id`` arrived, and the events."""
    seen: list[dict[str, Any]] = []
    async for message in pubsub.listen():
        if message.get("type") != "message":
            continue
        event = msgspec.json.decode(message["data"])
        if event.get("type") == "indicator_calculated" and event.get("job_id") == job_id:
            seen.append(event)
            if len(seen) == count:
                return time.perf_counter(), seen
    raise RuntimeError("the event subscription ended")


# --- 2. chart-data with the six --------------------------------------------------------------------


async def _charts(runtime: Runtime, http: httpx.AsyncClient, series: BucketSeries) -> list[dict[str, Any]]:
    first = _utc(int(series.ts[0]))
    last = _utc(int(series.ts[-1]))
    cases = [
        ("whole history, 2,000 points", {"from": first, "to": last, "max_points": 2000}),
        ("one week at 1m, every bar", {"from": last - dt.timedelta(days=7), "to": last, "timeframe": "1m"}),
    ]
    shift = itertools.count(1)
    rows: list[dict[str, Any]] = []
    details: list[dict[str, Any]] = []
    original = runtime.services
    try:
        for label, window in cases:
            plain: dict[str, Any] = {"symbol": SYMBOL, "max_points": 20_000} | {
                name: value.isoformat() if isinstance(value, dt.datetime) else value
                for name, value in window.items()
            }
            with_six = plain | {"indicators": list(SIX)}
            # the first request stores the six at the bucket the server picks (1m: the job stored them)
            began = time.perf_counter()
            answer = await _chart(http, with_six, shift)
            first_ms = (time.perf_counter() - began) * 1000
            bucket = answer.headers["x-k2q-bucket"]
            returned = pa.ipc.open_stream(answer.content).read_all()
            assert f"ind:{SIX[0]}:real" in returned.column_names, returned.column_names
            cold: dict[bool, list[float]] = {False: [], True: []}
            warm: dict[bool, list[float]] = {False: [], True: []}
            for run in range(CHART_RUNS):
                for indicators in (run % 2 == 0, run % 2 == 1):
                    runtime.services = _fresh_charts(original)
                    cold[indicators].append(await _chart_ms(http, with_six if indicators else plain, shift))
            runtime.services = _fresh_charts(original)
            for run in range(CHART_WARMUP + CHART_RUNS):
                for indicators in (run % 2 == 0, run % 2 == 1):
                    ms = await _chart_ms(http, with_six if indicators else plain, shift)
                    if run >= CHART_WARMUP:
                        warm[indicators].append(ms)
            details.append(
                {
                    "case": label,
                    "bucket": bucket,
                    "rows": returned.num_rows,
                    "first request, storing the six at the bucket ms": first_ms,
                    "cold p50 ms": p50(cold[False]),
                    "cold + six p50 ms": p50(cold[True]),
                    "warm p50 ms": p50(warm[False]),
                    "warm + six p50 ms": p50(warm[True]),
                }
            )
            for kind, samples in (("cold", cold), ("warm", warm)):
                rows.append(
                    _row(
                        f"chart-data {label} ({bucket}) + six, {kind}",
                        p50(samples[True]),
                        "the same without indicators",
                        p50(samples[False]),
                        "≤ 1.5×",
                    )
                )
            print(f"  chart-data {label}: done", flush=True)
    finally:
        runtime.services = original
    print(f"\nchart-data p50 of {CHART_RUNS} requests each, every one a Redis slice-cache miss\n")
    report("indicators_chart", details)
    return rows


def _fresh_charts(services: Services) -> Services:
    """``services`` with a new :class:`ChartSlices`: an empty hot cache, no rollups checked yet."""
    charts = services.charts
    fresh = ChartSlices(
        charts.catalog,
        charts.bars,
        charts.versions,
        charts.joins,
        work=charts.work,
        hot_cache_bytes=charts.hot.max_bytes,
    )
    return dataclasses.replace(services, charts=fresh)


async def _chart(http: httpx.AsyncClient, body: dict[str, Any], shift: Iterator[int]) -> httpx.Response:
    """One chart-data request whose window starts a millisecond earlier than any before."""
    start = dt.datetime.fromisoformat(body["from"]) - dt.timedelta(milliseconds=next(shift))
    answer = await http.post("/api/v1/stocks/chart-data", json=body | {"from": start.isoformat()})
    answer.raise_for_status()
    assert answer.headers["x-k2q-cache"] == "miss"
    return answer


async def _chart_ms(http: httpx.AsyncClient, body: dict[str, Any], shift: Iterator[int]) -> float:
    began = time.perf_counter()
    await _chart(http, body, shift)
    return (time.perf_counter() - began) * 1000


def _utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


# --- 3. one live minute ----------------------------------------------------------------------------


async def _live(
    runtime: Runtime, ref: SeriesKey, specs: list[IndicatorSpec], raw_six: float
) -> list[dict[str, Any]]:
    services = runtime.services
    outputs = services.indicators
    states = await outputs.current(ref, "1m", "extended", specs)
    assert all(state.how == "reused" for state in states), [state.how for state in states]
    next_ms = max(state.last_ts or 0 for state in states) + MINUTE_MS
    close = 100.0
    writes: list[float] = []
    updates: list[float] = []
    parts: list[dict[str, float]] = []
    async with services.writer.holding("synthetic", "benchmarking live indicators") as claim:
        with _probe(runtime) as probe:
            for run in range(LIVE_WARMUP + LIVE_RUNS):
                bar = bars_batch([next_ms], [close], [close + 0.05], [close - 0.05], [close + 0.01],
                                 [1_000.0], [None], [None])  # fmt: skip
                next_ms += MINUTE_MS
                close += 0.01
                began = time.perf_counter()
                written = await services.writer.write(ref, claim, bar)
                wrote = time.perf_counter()
                probe.take()
                states = await outputs.current(ref, "1m", "extended", specs, written=written.span)
                done = time.perf_counter()
                taken = probe.take()
                assert all(state.how == "extended" for state in states), [state.how for state in states]
                if run >= LIVE_WARMUP:
                    writes.append((wrote - began) * 1000)
                    updates.append((done - wrote) * 1000)
                    parts.append(taken)
        # what the live recorder announces first: the six advanced in memory from kept tails
        tails = LiveTails(services.bars)
        for state in states:
            _, last = await outputs.read(state, state.last_ts or 0, state.last_ts or 0)
            await tails.keep(state, [float(values[-1]) for values in last])
        memory: list[float] = []
        for run in range(LIVE_WARMUP + LIVE_RUNS):
            bar = pa.Table.from_batches([bars_batch([next_ms], [close], [close + 0.05], [close - 0.05],
                                                    [close + 0.01], [1_000.0], [None], [None])])  # fmt: skip
            next_ms += MINUTE_MS
            close += 0.01
            began = time.perf_counter()
            events = tails.advance(ref, bar)
            if run >= LIVE_WARMUP:
                memory.append((time.perf_counter() - began) * 1000)
            assert len(events) == len(specs), len(events)
        # the same six computed from scratch through the service (its registry forgets them first)
        full: list[float] = []
        for _ in range(FULL_RUNS):
            await outputs.registry.delete_series(ref.symbol, ref.series, ref.adjusted)
            began = time.perf_counter()
            states = await outputs.current(ref, "1m", "extended", specs)
            full.append((time.perf_counter() - began) * 1000)
            assert all(state.how == "computed" for state in states), [state.how for state in states]
    columns = {label: [taken[label] for taken in parts] for label in parts[0]}
    columns = {label: samples for label, samples in columns.items() if any(samples)}
    columns["other (locks, NumPy, Python)"] = [
        total - sum(taken.values()) for total, taken in zip(updates, parts, strict=True)
    ]
    columns["current() in all"] = updates
    columns["(not timed: the bar's write through services.writer)"] = writes
    details = [
        {"part": label, "p50 ms": p50(samples), "min ms": min(samples), "max ms": max(samples)}
        for label, samples in columns.items()
    ]
    update = p50(updates)
    print(f"\none live minute: IndicatorOutputs.current of the six after each new bar, {LIVE_RUNS} runs\n")
    report("indicators_live", details)
    name = "live minute, current() of the six (extension) p50"
    return [
        _row(
            "live minute, the six from memory (announced first) p50",
            p50(memory),
            "TA-Lib's six over the whole arrays",
            raw_six,
            "≤ 5 ms",
        ),
        _row(name, update, "TA-Lib's six over the whole arrays", raw_six, "≤ 5 ms"),
        _row(name, update, "full recompute through the service (best)", min(full), "≤ 5 ms"),
    ]


# --- 4. the catalog --------------------------------------------------------------------------------


def _catalog(series: BucketSeries) -> list[dict[str, Any]]:
    names = [item.name for item in catalog() if item.source == "ta-lib" and item.chartable]
    context = OwnContext(width="1m", session="extended")
    sma = _best_ms(lambda: talib.SMA(series.close), RAW_RUNS)
    times: dict[str, float] = {}
    for name in names:
        spec = parse_indicator(name.lower())
        values = compute(spec, series, context)
        assert all(len(v) == len(series) for v in values), name
        times[name] = min(_samples_ms(functools.partial(compute, spec, series, context), CATALOG_RUNS))
    total = sum(times.values())
    slowest = sorted(times.items(), key=lambda item: item[1], reverse=True)[:10]
    print(
        f"\nthe ten slowest of {len(names)} chartable TA-Lib functions at their defaults on {BARS:,} bars\n"
    )
    report(
        "indicators_catalog",
        [
            {"function": name, "ms": ms, "× SMA": ms / sma, "share of total": ms / total}
            for name, ms in slowest
        ],
    )
    return [
        _row(f"catalog: all {len(names)} chartable TA-Lib functions", total, "raw talib.SMA", sma, "-"),
        _row("catalog: median function", float(np.median(list(times.values()))), "raw talib.SMA", sma, "-"),
    ]


def _row(measurement: str, ms: float, baseline: str, baseline_ms: float, target: str) -> dict[str, Any]:
    return {
        "measurement": measurement,
        "ms": ms,
        "baseline": baseline,
        "baseline ms": baseline_ms,
        "ratio": ms / baseline_ms,
        "target": target,
    }
