"""Chart slices at scale: chart-data over HTTP on 10+ symbols × 1.3M minute bars, against baselines.

Three baselines, each measured in this run and interleaved run by run with what it is compared
to, so the machine's drift hits both sides alike:

* the raw chDB query for the same buckets (one hand-written GROUP BY through the same client,
  no API, no Arrow encoding, no HTTP), as in :mod:`bench.chart_data`;
* the seed's design (:mod:`bench.seed_baseline`): one Postgres table per symbol, the same
  buckets aggregated in SQL, rows served as a JSON list of dicts by a second uvicorn app;
* the API's own fixed costs (HTTP floor, authentication) and its in-process service call, to
  show where the time of a request goes.

Cold cases alternate symbols and start the window one second earlier per run, so neither chDB's
caches nor the API's Redis slice cache ever see the same request twice (the API's in-memory hot
cache of months and rollups does serve them: it is warmed by one request per symbol first); the
"first after a change" cases bump a series' version before each request, so the hot cache must
load what changed again: everything ("anywhere"), or only the month and rollup year of a new last
minute, as when a live bar arrives; the "repeat" cases send one request again and
again (Redis cache hits), and again with ``If-None-Match`` (304s).

Sizes: ``K2Q_BENCH_SYMBOLS`` (10), ``K2Q_BENCH_SEED_SYMBOLS`` (2: loading Postgres is slow),
``K2Q_BENCH_RUNS`` (40), ``K2Q_BENCH_FIRST_YEAR`` (2016; history runs to 2024-12-31).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx
import msgspec
import pyarrow as pa
import uvicorn
from clickhouse_connect.driver.client import Client
from litestar import Litestar

from api.app import create_app
from api.runtime import Runtime
from bench import seed_baseline
from bench.chart_data import RAW_ROWS_SQL, RAW_SQL
from bench.common import minute_bars, p50, p99, report, start_runtime
from pipelines.series.versions import Span
from schemas.bars import ChartDataRequest, SeriesKey, SliceQuery
from tests.data import store_minute_dataset
from tests.process import free_port
from warehouse.clickhouse.bars import BarStore
from warehouse.clickhouse.buckets import bucket_sql
from warehouse.clickhouse.client import ClickHouse

CHART = "/api/v1/stocks/chart-data"
END = dt.date(2024, 12, 31)
END_AT = dt.datetime(2025, 1, 1, 1, tzinfo=dt.UTC)
"""The end of the stored history: 20:00 New York on its last day."""
WEEK = dt.datetime(2024, 6, 10, tzinfo=dt.UTC)
MAX_POINTS = 2000
SHIFT_PROBE, SHIFT_BREAKDOWN, SHIFT_SEED, SHIFT_CHANGED = 1_000, 2_000, 3_000, 4_000
"""Seconds the window of each kind of K2 request starts early by (plus the run), so none repeats."""

Call = Callable[[int], Awaitable[Any]]
T = TypeVar("T")


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


async def main() -> None:
    symbols = [f"SC{index:02d}" for index in range(_env_int("K2Q_BENCH_SYMBOLS", 10))]
    seed_symbols = symbols[: max(1, min(_env_int("K2Q_BENCH_SEED_SYMBOLS", 2), len(symbols)))]
    runs = _env_int("K2Q_BENCH_RUNS", 40)
    start = dt.date(_env_int("K2Q_BENCH_FIRST_YEAR", 2016), 1, 1)

    runtime = await start_runtime()
    try:
        kept = await _store(runtime, symbols, seed_symbols, start)
        first = kept[seed_symbols[0]].column("ts")[0].as_py()
        last = kept[seed_symbols[0]].column("ts")[-1].as_py()
        seed_load = 0.0
        for symbol in seed_symbols:
            seed_load += await seed_baseline.load(runtime.stack.pool, symbol, kept[symbol])
        seed_rows = sum(kept[symbol].num_rows for symbol in seed_symbols)
        print(
            f"seed design: {seed_rows:,} bars of {len(seed_symbols)} symbols COPY'd into one Postgres"
            f" table each (+ btree index) in {seed_load:.1f} s ({seed_rows / seed_load / 1e6:.2f}M rows/s)",
            flush=True,
        )
        del kept
        await _settle(runtime)
        admin = await runtime.auth.ensure_admin()
        key = (await runtime.auth.create_key(admin.username, "bench", "admin", None)).key
        async with (
            _serve(create_app(runtime)) as k2_url,
            _serve(seed_baseline.create_seed_app(runtime.stack.pool)) as seed_url,
            httpx.AsyncClient(
                base_url=k2_url, timeout=120, headers={"Authorization": f"Bearer {key}"}
            ) as http,
            httpx.AsyncClient(base_url=seed_url, timeout=120) as seed_http,
        ):
            bench = _Bench(runtime, http, seed_http, symbols, seed_symbols, runs)
            windows = [("whole history", first, last), ("one week", WEEK, WEEK + dt.timedelta(days=7))]
            for label, lo, hi in windows:
                await bench.api_cases(label, lo, hi)
            for label, lo, hi in windows:
                await bench.breakdown(label, lo, hi)
            for label, lo, hi in windows:
                await bench.seed_case(label, lo, hi)
    finally:
        await runtime.close()
    print(f"\nK2 Quant chart-data over HTTP vs the raw chDB query; {runs} timed runs per case\n")
    report("chart_scale", bench.api_rows)
    print("\nwhere the time of a cold request goes (each step timed in the same runs)\n")
    report("chart_scale_breakdown", bench.breakdown_rows)
    print(f"\nthe seed's design (Postgres table per symbol + JSON) on {', '.join(seed_symbols)}\n")
    report("chart_scale_seed", bench.seed_rows)


async def _store(
    runtime: Runtime, symbols: list[str], seed_symbols: list[str], start: dt.date
) -> dict[str, pa.Table]:
    """Generate and store every symbol's minute bars; keep the seed symbols' bars for Postgres."""
    kept: dict[str, pa.Table] = {}
    generating = storing = 0.0
    total = 0
    for symbol in symbols:
        began = time.perf_counter()
        bars = minute_bars(symbol, start, END)
        generated = time.perf_counter()
        await store_minute_dataset(runtime.services, f"scale_{symbol.lower()}", symbol, bars, start, END)
        storing += time.perf_counter() - generated
        generating += generated - began
        total += bars.num_rows
        if symbol in seed_symbols:
            kept[symbol] = bars
    print(
        f"{total:,} minute bars over {len(symbols)} symbols ({start}..{END}) stored in {storing:.1f} s"
        f" ({total / storing / 1e6:.2f}M rows/s; generating them took {generating:.1f} s)",
        flush=True,
    )
    return kept


async def _settle(runtime: Runtime, limit_s: float = 60) -> None:
    """Wait for chDB's background merges so they do not run during the timed requests."""
    began = time.perf_counter()
    sql = (
        "SELECT (SELECT count() FROM system.merges), "
        "(SELECT count() FROM system.parts WHERE active AND table = 'bars'),"
        "(SELECT count() FROM system.parts WHERE active AND table = 'bar_rollups')"
    )
    merges = parts = rollup_parts = 0
    while time.perf_counter() - began < limit_s:
        result = await runtime.stack.clickhouse.run(lambda client: client.query(sql))
        merges, parts, rollup_parts = result.result_rows[0]
        if not merges:
            break
        await asyncio.sleep(1)
    print(
        f"{parts} active parts of bars, {rollup_parts} of rollups, {merges} merges running"
        f" after {time.perf_counter() - began:.1f} s",
        flush=True,
    )


@contextlib.asynccontextmanager
async def _serve(app: Litestar) -> AsyncIterator[str]:
    """Run ``app`` under uvicorn on a loopback port in this process (chDB belongs to one process)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_config=None, access_log=False))
    serving = asyncio.create_task(server.serve())
    while not server.started:  # uvicorn has no started event
        if serving.done():
            serving.result()
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await serving


async def _paired(calls: dict[str, Call], runs: int, warmup: int = 3) -> dict[str, list[float]]:
    """Seconds per call of each of ``calls``, called in turn within each run (run ``n`` gets ``n``)."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for n in range(warmup + runs):
        for name, call in calls.items():
            began = time.perf_counter()
            await call(n)
            if n >= warmup:
                samples[name].append(time.perf_counter() - began)
    return samples


def _ms(samples: list[float], pick: Callable[[list[float]], float] = p50) -> float:
    return pick(samples) * 1000


class _Bench:
    """The timed cases, sharing one runtime, two servers and their clients."""

    def __init__(
        self,
        runtime: Runtime,
        http: httpx.AsyncClient,
        seed_http: httpx.AsyncClient,
        symbols: list[str],
        seed_symbols: list[str],
        runs: int,
    ) -> None:
        self.runtime = runtime
        self.http = http
        self.seed_http = seed_http
        self.symbols = symbols
        self.seed_symbols = seed_symbols
        self.runs = runs
        self.api_rows: list[dict[str, Any]] = []
        self.breakdown_rows: list[dict[str, Any]] = []
        self.seed_rows: list[dict[str, Any]] = []
        self.buckets: dict[str, str] = {}
        self.cold_p50: dict[str, float] = {}
        self.cached_p50: dict[str, float] = {}

    @staticmethod
    def body(symbol: str, lo: dt.datetime, hi: dt.datetime, shift: int = 0) -> dict[str, Any]:
        """A chart-data request; starting ``shift`` seconds earlier makes it one never seen before.

        The windows start before any bar (history before its first bar, a week on Monday 00:00 UTC,
        which is Sunday evening in New York), so the shift changes the request, not the answer.
        """
        return {
            "symbol": symbol,
            "timeframe": "1m",
            "from": (lo - dt.timedelta(seconds=shift)).isoformat(),
            "to": hi.isoformat(),
            "max_points": MAX_POINTS,
        }

    async def post(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
        answer = await self.http.post(CHART, json=body, headers=headers)
        if answer.is_error:  # a 304 is an answer here, not a redirect to complain about
            answer.raise_for_status()
        return answer

    def raw_call(self, bucket: str, lo: dt.datetime, hi: dt.datetime, symbols: list[str]) -> Call:
        """The hand-written chDB query for the same buckets as run ``n`` of the API."""
        sql = RAW_ROWS_SQL if bucket == "1m" else RAW_SQL.format(bucket=bucket_sql(bucket, "ts"))

        async def raw(n: int) -> None:
            params = {
                "symbol": symbols[n % len(symbols)],
                "start": lo - dt.timedelta(seconds=n),
                "end": hi,
            }
            await self.runtime.stack.clickhouse.run(lambda client: client.query_arrow(sql, parameters=params))

        return raw

    def api_call(
        self, lo: dt.datetime, hi: dt.datetime, symbols: list[str], hits: list[str], base: int = 0
    ) -> Call:
        """Run ``n`` of cold chart-data requests; each ``base`` keeps its requests apart from others'."""

        async def api(n: int) -> None:
            answer = await self.post(self.body(symbols[n % len(symbols)], lo, hi, shift=base + n))
            hits.append(answer.headers.get("x-k2q-cache", "-"))

        return api

    def after_change(
        self,
        lo: dt.datetime,
        hi: dt.datetime,
        span: Span | None,
        seconds: list[float],
        hits: list[str],
        base: int,
    ) -> Call:
        """Run ``n``: record a change of a symbol's bars (within ``span``), then time its request."""
        request = self.api_call(lo, hi, self.symbols, hits, base=base)

        async def call(n: int) -> None:
            ref = SeriesKey.of(symbol=self.symbols[n % len(self.symbols)], series="1m", adjusted=True)
            await self.runtime.services.versions.bump(ref, span)
            began = time.perf_counter()
            await request(n)
            seconds.append(time.perf_counter() - began)

        return call

    async def api_cases(self, label: str, lo: dt.datetime, hi: dt.datetime) -> None:
        """Cold (alternating symbols, never the same request) and repeated requests vs raw chDB."""
        probe = await self.post(self.body(self.symbols[0], lo, hi, shift=SHIFT_PROBE))
        bucket = probe.headers["x-k2q-bucket"]
        returned = pa.ipc.open_stream(probe.content).read_all().num_rows
        self.buckets[label] = bucket

        # A series' first request after its bars change loads what changed into the API's hot
        # cache: timed apart, by bumping the version before each request. "Anywhere" names no span
        # (every month and rollup year reloads: the worst case); "new last minute" is a live bar
        # arriving at the end of the history (only its month and year reload).
        last_minute = (END_AT - dt.timedelta(minutes=1), END_AT)
        changed: dict[str, tuple[list[float], list[str]]] = {}
        for case, span in (("anywhere", None), ("new last minute", last_minute)):
            seconds: list[float] = []
            hits: list[str] = []
            changed[case] = (seconds, hits)
            await _paired(
                {
                    case: self.after_change(
                        lo, hi, span, seconds, hits, base=SHIFT_CHANGED * (1 + len(changed))
                    )
                },
                self.runs,
                warmup=0,
            )

        cold_hits: list[str] = []
        cold = await _paired(
            {
                "api": self.api_call(lo, hi, self.symbols, cold_hits),
                "raw": self.raw_call(bucket, lo, hi, self.symbols),
            },
            self.runs,
            warmup=len(self.symbols),
        )
        raw_p50 = _ms(cold["raw"])
        self.cold_p50[label] = _ms(cold["api"])

        fixed = self.body(self.symbols[0], lo, hi)
        etag = (await self.post(fixed)).headers["etag"]
        repeat_hits: list[str] = []
        statuses: list[int] = []

        async def repeat(n: int) -> None:
            repeat_hits.append((await self.post(fixed)).headers.get("x-k2q-cache", "-"))

        async def not_modified(n: int) -> None:
            statuses.append((await self.post(fixed, {"If-None-Match": etag})).status_code)

        repeated = await _paired({"repeat": repeat, "304": not_modified}, self.runs)
        self.cached_p50[label] = _ms(repeated["repeat"])

        def row(case: str, samples: list[float], cache: str) -> dict[str, Any]:
            return {
                "case": f"{label}, {case}",
                "bucket": bucket,
                "rows": returned,
                "cache": cache,
                "api p50 ms": _ms(samples),
                "api p99 ms": _ms(samples, p99),
                "raw chDB p50 ms": raw_p50,
                "api / raw": _ms(samples) / raw_p50,
            }

        self.api_rows += [
            row(f"first after a change {case} ({len(self.symbols)} symbols)", seconds, _tally(hits))
            for case, (seconds, hits) in changed.items()
        ]
        self.api_rows += [
            row(f"cold ({len(self.symbols)} symbols)", cold["api"], _tally(cold_hits[len(self.symbols) :])),
            row("repeat", repeated["repeat"], _tally(repeat_hits[3:])),
            row("repeat + If-None-Match", repeated["304"], _tally([str(s) for s in statuses[3:]])),
        ]
        print(f"  {label}: {bucket} buckets, {returned} rows", flush=True)

    async def breakdown(self, label: str, lo: dt.datetime, hi: dt.datetime) -> None:
        """A cold request beside its parts, each timed in the same runs."""
        services = self.runtime.services
        bucket = self.buckets[label]
        symbols = self.symbols
        hits: list[str] = []
        plan_s: list[float] = []
        query_s: list[float] = []
        timed = _TimedClickHouse(self.runtime.stack.clickhouse)
        bars = BarStore(timed)

        async def health(n: int) -> None:
            (await self.http.get("/health")).raise_for_status()

        async def me(n: int) -> None:
            (await self.http.get("/api/v1/auth/me")).raise_for_status()

        def request(n: int) -> ChartDataRequest:
            return msgspec.convert(self.body(symbols[n % len(symbols)], lo, hi, shift=n), ChartDataRequest)

        async def service(n: int) -> None:
            data = request(n)
            began = time.perf_counter()
            plan = await services.charts.plan(data)
            plan_s.append(time.perf_counter() - began)
            await services.charts.chart_slice(plan, data)

        async def store(n: int) -> None:
            ref = SeriesKey.of(symbol=symbols[n % len(symbols)], series="1m", adjusted=True)
            timed.seconds = 0.0
            await bars.chart_slice(
                SliceQuery(
                    ref=ref, timeframe="1m", start=lo - dt.timedelta(seconds=n), end=hi, max_points=MAX_POINTS
                )
            )
            query_s.append(timed.seconds)

        samples = await _paired(
            {
                "api": self.api_call(lo, hi, symbols, hits, base=SHIFT_BREAKDOWN),
                "health": health,
                "me": me,
                "service": service,
                "store": store,
                "raw": self.raw_call(bucket, lo, hi, symbols),
            },
            self.runs,
        )
        samples["plan"] = plan_s[-self.runs :]
        samples["query"] = query_s[-self.runs :]
        raw_p50 = _ms(samples["raw"])
        parts = [
            ("POST chart-data over HTTP (cold)", "api"),
            ("GET /health over HTTP (HTTP + middleware floor)", "health"),
            ("GET /auth/me with the API key (+ key lookup, rate limit)", "me"),
            ("in process: charts.plan + charts.chart_slice", "service"),
            ("  of which charts.plan (catalog lookup in Postgres)", "plan"),
            ("in process: BarStore.chart_slice alone", "store"),
            ("  of which its chDB query (fine buckets, before NumPy coarsening)", "query"),
            ("raw chDB GROUP BY, same buckets", "raw"),
        ]
        self.breakdown_rows += [
            {
                "case": label,
                "step": step,
                "p50 ms": _ms(samples[name]),
                "p99 ms": _ms(samples[name], p99),
                "/ raw": _ms(samples[name]) / raw_p50,
            }
            for step, name in parts
        ]
        print(f"  breakdown {label}: done (K2 cache: {_tally(hits)})", flush=True)

    async def seed_case(self, label: str, lo: dt.datetime, hi: dt.datetime) -> None:
        """The seed's handler and its SQL alone vs K2 Quant, on the symbols loaded into Postgres."""
        bucket = self.buckets[label]
        symbols = self.seed_symbols
        pool = self.runtime.stack.pool
        counts: list[int] = []
        hits: list[str] = []

        def seed_body(n: int) -> dict[str, Any]:
            return self.body(symbols[n % len(symbols)], lo, hi, shift=n) | {"bucket": bucket}

        async def seed_http(n: int) -> None:
            answer = await self.seed_http.post(CHART, json=seed_body(n))
            answer.raise_for_status()
            counts.append(len(answer.json()["data"]))

        async def seed_sql(n: int) -> None:
            body = seed_body(n)
            start = dt.datetime.fromisoformat(body["from"])
            await seed_baseline.query(pool, body["symbol"], bucket, start, hi)

        api = self.api_call(lo, hi, symbols, hits, base=SHIFT_SEED)
        samples = await _paired({"seed": seed_http, "sql": seed_sql, "api": api}, self.runs)
        seed_p50 = _ms(samples["seed"])
        self.seed_rows.append(
            {
                "case": label,
                "bucket": bucket,
                "seed rows": counts[-1],
                "seed SQL p50 ms": _ms(samples["sql"]),
                "seed HTTP p50 ms": seed_p50,
                "seed HTTP p99 ms": _ms(samples["seed"], p99),
                "K2 cold p50 ms": _ms(samples["api"]),
                "seed / K2 cold": seed_p50 / _ms(samples["api"]),
                "seed / K2 cached": seed_p50 / self.cached_p50[label],
            }
        )
        print(f"  seed {label}: done (K2 cache: {_tally(hits)})", flush=True)


class _TimedClickHouse(ClickHouse):
    """The runtime's ClickHouse, adding up the seconds its calls spend in the engine."""

    def __init__(self, inner: ClickHouse) -> None:  # shares ``inner``'s client and thread
        self.inner = inner
        self.embedded = inner.embedded
        self.seconds = 0.0

    async def run(self, fn: Callable[[Client], T], kind: str = "other") -> T:
        def timed(client: Client) -> T:
            began = time.perf_counter()
            try:
                return fn(client)
            finally:
                self.seconds += time.perf_counter() - began

        return await self.inner.run(timed, kind)


def _tally(values: list[str]) -> str:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return " ".join(f"{value}×{count}" for value, count in sorted(counts.items()))
