"""REST pipeline throughput and memory: a loopback Polygon serving pre-built pages, into chDB.

A separate process serves Polygon aggregates pages built once before the clock starts (every
minute 04:00-19:59 New York of every weekday, about 35k bars per 52-day window), so the server
costs the pipeline no CPU time of its own process. The pipeline is a whole fetch job: plan, HTTP
with the in-flight bound, decoding to Arrow, batched multi-symbol inserts and Postgres checkpoints;
its throughput is the bars stored per second until the last window is checkpointed (target: at
least half the baseline). The job then registers the datasets (ClickHouse merges the parts it
wrote in the background): the second row counts that too. The baseline is one raw
``insert_arrow`` of the same bars (with their symbol columns) into the same chDB table,
alternated with the pipeline in the same run.

Peak memory: each backfill runs in a fresh process, and its resident set is sampled every 10 ms
above its level before the backfill. It must not grow with the number of bars: the pipeline
streams. What it holds at most is set by the configuration, not the backfill: each request in
flight holds one page (up to 50,000 bars, ~7 MB of JSON, while it is read and decoded), the
writer's queue :data:`pipelines.ingest.window_runner.QUEUE_DEPTH` Arrow pages and its insert buffer about
:data:`pipelines.ingest.window_runner.FLUSH_ROWS` rows, plus what the ClickHouse engine keeps for inserts
and merges.

``python -m bench rest_pipeline`` runs 3M bars for throughput and 1M / 4M bars for memory;
``python -m bench.rest_pipeline --memory-bars 10000000`` makes the large backfill 10M bars.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import socket
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa

from api.runtime import Runtime
from api.settings import PolygonSettings, Settings, StoreSettings
from bench.common import report
from bench.export import PeakMemory
from pipelines.ingest.fetch import Fetcher
from pipelines.ingest.sources.polygon_rest import plan_windows
from pipelines.jobs.kinds import JobKind
from pipelines.jobs.submit import record
from schemas.bars import TS_TYPE, SeriesKey, SeriesRequest
from schemas.datasets import FetchRequest
from tests.loopback.polygon import NEW_YORK
from warehouse.catalog.fetch_windows import FetchWindowRepository

KEY = "bench-key"
YEAR = (dt.date(2023, 1, 1), dt.date(2023, 12, 31))
BARS_PER_SYMBOL = 250_560  # 261 weekdays x 960 minutes
THROUGHPUT_SYMBOLS = 12  # ~3.0M bars
MEMORY_BARS = (1_000_000, 4_000_000)


def windows() -> list[tuple[dt.date, dt.date]]:
    key = SeriesKey(symbol="X", multiplier=1, timespan="minute")
    return plan_windows(SeriesRequest(key=key, start=YEAR[0], end=YEAR[1]))


def window_bars(first: dt.date, last: dt.date) -> dict[str, np.ndarray[Any, Any]]:
    """Every minute 04:00-19:59 New York of every weekday in ``[first, last]``."""
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    opens = [
        int(dt.datetime.combine(d, dt.time(4), NEW_YORK).timestamp() * 1000) for d in days if d.weekday() < 5
    ]
    t = (np.array(opens, dtype=np.int64)[:, None] + np.arange(960, dtype=np.int64)[None, :] * 60_000).ravel()
    rng = np.random.default_rng(int(t[0] % 2**32) if len(t) else 0)
    close = 100 + np.cumsum(rng.normal(0, 0.05, len(t)))
    return {
        "t": t,
        "o": close,
        "h": close + 0.05,
        "l": close - 0.05,
        "c": close,
        "v": rng.integers(1, 10_000, len(t)).astype(float),
        "vw": close,
        "n": rng.integers(1, 500, len(t)),
    }


def page(first: dt.date, last: dt.date) -> bytes:
    """A Polygon aggregates answer holding the whole window (no next_url)."""
    bars = window_bars(first, last)
    names = ("v", "vw", "o", "c", "h", "l", "t", "n")
    results = [
        dict(zip(names, row, strict=True)) for row in zip(*(bars[n].tolist() for n in names), strict=True)
    ]
    body = {"ticker": "X", "queryCount": len(results), "resultsCount": len(results), "adjusted": True}
    return msgspec.json.encode({**body, "results": results, "status": "OK", "request_id": "bench"})


def serve(port_out: Any) -> None:
    """The loopback server process: pre-built pages by window start date, HTTP/1.1 keep-alive."""
    pages = {str(first).encode(): page(first, last) for first, last in windows()}
    empty = msgspec.json.encode({"status": "OK", "resultsCount": 0, "queryCount": 0, "request_id": "bench"})

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].split(b"?", 1)[0]
                body = pages.get(path.rstrip(b"/").split(b"/")[-2], empty)
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                )
                writer.write(body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        server = await asyncio.start_server(handle, sock=sock)
        port_out.send(sock.getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


def raw_table(symbols: list[str]) -> pa.Table:
    """The same bars the server hands out, for every symbol, with the bar table's series columns."""
    parts = []
    for first, last in windows():
        bars = window_bars(first, last)
        parts.append(
            pa.table(
                {
                    "ts": pa.array(bars["t"]).cast(TS_TYPE),
                    "open": bars["o"],
                    "high": bars["h"],
                    "low": bars["l"],
                    "close": bars["c"],
                    "volume": bars["v"],
                    "vwap": bars["vw"],
                    "transactions": pa.array(bars["n"]).cast(pa.uint32()),
                }
            )
        )
    one = pa.concat_tables(parts)
    tables = []
    for symbol in symbols:
        n = one.num_rows
        tables.append(
            one.append_column("symbol", pa.repeat(symbol, n))
            .append_column("timespan", pa.repeat("1m", n))
            .append_column("adjusted", pa.repeat(True, n))
            .append_column("source", pa.repeat("polygon", n))
        )
    return pa.concat_tables(tables).combine_chunks()


async def truncate(runtime: Runtime) -> None:
    await runtime.stack.clickhouse.run(lambda client: client.command("TRUNCATE TABLE bars"))


async def backfill(runtime: Runtime, fetcher: Fetcher, symbols: list[str]) -> tuple[int, float, float]:
    """Run a fetch job of ``symbols`` over the year.

    Returns:
        Bars stored; seconds until every window was stored and checkpointed (the job then
        registers datasets); seconds in all.
    """
    request = FetchRequest(symbols=symbols, timespan="minute", from_=YEAR[0], to=YEAR[1], source="polygon")
    job_id = await record(runtime.services.jobs, JobKind.FETCH, request, "bench")
    register = fetcher._register  # called once every window is stored
    stored_at: list[float] = []

    async def timed_register(*args: Any, **kwargs: Any) -> Any:
        stored_at.append(time.perf_counter())
        return await register(*args, **kwargs)

    fetcher._register = timed_register  # type: ignore[method-assign]
    started = time.perf_counter()
    try:
        outcome = await fetcher.run(request, job_id=job_id)
    finally:
        del fetcher._register
    elapsed = time.perf_counter() - started
    assert not outcome.failed, [item.error for item in outcome.failed]
    return outcome.bars, stored_at[0] - started, elapsed


def start_server() -> tuple[Any, int]:
    """The page server in its own process, and its port."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    server = context.Process(target=serve, args=(send,), daemon=True)
    server.start()
    return server, receive.recv()


async def start_runtime(port: int) -> tuple[Runtime, Fetcher]:
    """A runtime on a fresh data dir whose Polygon is the page server, and its fetcher.

    The fetcher is the runtime's, without the quality assessment that follows a job.
    """
    settings = Settings(
        stores=StoreSettings(data_dir=Path(tempfile.mkdtemp(prefix="k2q-bench-rest-"))),
        polygon=PolygonSettings(api_key=KEY, base_url=f"http://127.0.0.1:{port}"),
        seed_demo=False,
    )
    runtime = await Runtime.start(settings)
    services = runtime.services
    fetcher = Fetcher(
        runtime.sources,
        services.bars,
        services.catalog,
        services.versions,
        windows=FetchWindowRepository(runtime.stack.pool),
        writer=services.writer,
    )
    return runtime, fetcher


def memory_case(port: int, bars: int, out: Any) -> None:
    """One backfill in a fresh process: (bars stored, seconds, RSS at start MiB, peak above start MiB)."""

    async def go() -> None:
        runtime, fetcher = await start_runtime(port)
        try:
            count = max(1, round(bars / BARS_PER_SYMBOL))
            with PeakMemory() as peak:
                stored, _, seconds = await backfill(runtime, fetcher, [f"M{i:03d}" for i in range(count)])
            out.send((stored, seconds, peak.start / 2**20, peak.mib))
        finally:
            await runtime.close()

    asyncio.run(go())


async def run(memory_bars: tuple[int, ...]) -> list[dict[str, Any]]:
    server, port = start_server()
    rows: list[dict[str, Any]] = []
    try:
        runtime, fetcher = await start_runtime(port)
        try:
            symbols = [f"S{i:03d}" for i in range(THROUGHPUT_SYMBOLS)]
            table = raw_table(symbols)
            raw_s: list[float] = []
            store_s: list[float] = []
            rest_s: list[float] = []
            for _ in range(3):  # alternated, so that both see the same machine
                await truncate(runtime)
                started = time.perf_counter()
                await runtime.stack.clickhouse.run(partial(_insert, table=table))
                raw_s.append(time.perf_counter() - started)
                await truncate(runtime)
                stored, storing, seconds = await backfill(runtime, fetcher, symbols)
                store_s.append(storing)
                rest_s.append(seconds)
            del table
            raw_rate, store_rate, rest_rate = stored / min(raw_s), stored / min(store_s), stored / min(rest_s)
            in_flight = runtime.settings.polygon.max_in_flight
        finally:
            await runtime.close()
        rows.append({"case": "raw insert_arrow (baseline)", "bars": stored, "bars/s": raw_rate, "ratio": 1.0})
        rows.append(
            {
                "case": "REST pipeline: bars stored (target >= 0.5)",
                "bars": stored,
                "bars/s": store_rate,
                "ratio": store_rate / raw_rate,
            }
        )
        rows.append(
            {
                "case": "whole fetch job (+ register)",
                "bars": stored,
                "bars/s": rest_rate,
                "ratio": rest_rate / raw_rate,
            }
        )
        context = multiprocessing.get_context("spawn")
        for bars in memory_bars:
            receive, send = context.Pipe(duplex=False)
            case = context.Process(target=memory_case, args=(port, bars, send))
            case.start()
            stored, seconds, start_mib, peak_mib = receive.recv()
            case.join()
            label = f"peak RSS MiB over {start_mib:.0f}: {stored / 1e6:.1f}M bars, {in_flight} in flight"
            rows.append(
                {
                    "case": label,
                    "bars": stored,
                    "bars/s": stored / seconds,
                    "ratio": peak_mib,
                }
            )
    finally:
        server.terminate()
        server.join(5)
    return rows


def _insert(client: Any, table: pa.Table) -> None:
    client.insert_arrow("bars", table)


async def main(memory_bars: tuple[int, ...] = MEMORY_BARS) -> None:
    report("rest_pipeline", await run(memory_bars))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--memory-bars", type=int, default=MEMORY_BARS[1], help="bars of the large backfill")
    arguments = parser.parse_args()
    asyncio.run(main((MEMORY_BARS[0], arguments.memory_bars)))
