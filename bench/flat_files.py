"""Flat-file load throughput: Polygon minute CSV.gz files parsed by ClickHouse itself, as a ratio to
one raw ``insert_arrow`` of the same bars (already decoded, in memory) into chDB.

Generated files: ``K2Q_BENCH_TICKERS`` tickers (default 4,000) × 390 regular-session minutes ×
``K2Q_BENCH_DAYS`` days (default 3) ≈ 4.7M bars, in Polygon's exact layout. Each path loads the
same files one day at a time into an empty table, best of ``RUNS`` (interleaved):

- raw ``insert_arrow``: the day's bars as an Arrow table with every column, one insert per day;
- ``FlatFileStore.load``: header check, ``INSERT … SELECT … FROM file()`` (gunzip, CSV parse,
  ns → ms, symbol filter, one block per file) and the per-symbol count of what was stored;
- ``FlatFileLoader.run``: the whole backfill — listing, every load, merging the touched partitions
  and registering a dataset per ticker in Postgres.

``ratio`` compares the best wall times; ``cpu ratio`` compares the CPU seconds the process spent
(every thread), which a busy shared machine disturbs far less. Peak memory is the resident set
above the start, sampled every 10 ms, during the loads.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from api.runtime import Runtime
from bench.common import report, start_runtime
from bench.export import PeakMemory
from schemas.flat_files import FlatFileRequest
from warehouse.clickhouse.flat_files import FlatFile

TICKERS = int(os.environ.get("K2Q_BENCH_TICKERS", "4000"))
DAYS = int(os.environ.get("K2Q_BENCH_DAYS", "3"))
RUNS = 5
MINUTES = 390
FIRST_DAY = dt.date(2024, 3, 4)


def _days() -> list[dt.date]:
    days: list[dt.date] = []
    day = FIRST_DAY
    while len(days) < DAYS:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def _day_table(day: dt.date, rng: np.random.Generator) -> pa.Table:
    """Columns of one day's file: every ticker, every regular-session minute."""
    open_ns = int(dt.datetime.combine(day, dt.time(9, 30), ZoneInfo("America/New_York")).timestamp()) * 10**9
    n = TICKERS * MINUTES
    tickers = np.repeat(np.array([f"T{i:04d}" for i in range(TICKERS)]), MINUTES)
    starts = open_ns + np.tile(np.arange(MINUTES, dtype=np.int64) * 60 * 10**9, TICKERS)
    low = np.round(rng.uniform(5, 500, n), 4)
    high = np.round(low + rng.uniform(0, 2, n), 4)
    return pa.table(
        {
            "ticker": tickers,
            "volume": rng.integers(1, 100_000, n).astype(np.float64),
            "open": np.round(rng.uniform(low, high), 4),
            "close": np.round(rng.uniform(low, high), 4),
            "high": high,
            "low": low,
            "window_start": starts,
            "transactions": rng.integers(1, 5_000, n),
        }
    )


def _write(root: Path, day: dt.date, table: pa.Table) -> Path:
    import gzip

    path = root / "us_stocks_sip" / "minute_aggs_v1" / f"{day:%Y}" / f"{day:%m}" / f"{day}.csv.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=True, quoting_style="none"))
    path.write_bytes(gzip.compress(buffer.getvalue(), compresslevel=6))
    return path


def _bars(table: pa.Table) -> pa.Table:
    """The same rows as the bar store's columns, ready for ``insert_arrow``."""
    n = table.num_rows
    ts = pa.array(table.column("window_start").to_numpy() // 10**6, pa.int64()).cast(
        pa.timestamp("ms", tz="UTC")
    )
    return pa.table(
        {
            "symbol": table.column("ticker"),
            "timespan": pa.repeat("1m", n),
            "adjusted": pa.repeat(False, n),
            "ts": ts,
            "open": table.column("open"),
            "high": table.column("high"),
            "low": table.column("low"),
            "close": table.column("close"),
            "volume": table.column("volume"),
            "vwap": pa.nulls(n, pa.float64()),
            "transactions": table.column("transactions").cast(pa.uint32()),
            "source": pa.repeat("polygon", n),
        }
    )


def _generate(root: Path) -> tuple[list[FlatFile], list[pa.Table], int]:
    """Write the day files under ``root``; return them, the same bars as Arrow, and the bytes written."""
    rng = np.random.default_rng(42)
    tables = {day: _day_table(day, rng) for day in _days()}
    files = [
        FlatFile(day=day, kind="file", path=str(_write(root, day, table))) for day, table in tables.items()
    ]
    size = sum(Path(file.path).stat().st_size for file in files)
    return files, [_bars(table) for table in tables.values()], size


async def _truncate(runtime: Runtime) -> None:
    await runtime.stack.clickhouse.run(lambda client: client.command("TRUNCATE TABLE bars"))
    async with runtime.stack.pool.connection() as conn:
        await conn.execute("TRUNCATE datasets CASCADE")


def _insert(client: Any, table: pa.Table) -> None:
    client.insert_arrow("bars", table)


async def main() -> None:
    runtime = await start_runtime()
    rows: list[dict[str, Any]] = []
    root = Path(tempfile.mkdtemp(prefix="k2q-bench-flat-"))
    try:
        files, arrow, size = _generate(root)
        n = sum(table.num_rows for table in arrow)
        print(f"{n:,} bars in {len(files)} files, {size / 2**20:.0f} MiB gzipped", flush=True)
        store, loader = runtime.services.flat_files.files, runtime.services.flat_files

        async def raw() -> None:
            for table in arrow:
                await runtime.stack.clickhouse.run(partial(_insert, table=table))

        async def load() -> None:
            for file in files:
                loaded = await store.load(file, "1m", await store.now(), symbols=None)
                assert loaded.total == TICKERS * MINUTES, loaded.total

        async def backfill() -> None:
            outcome = await loader.run(FlatFileRequest(source=str(root), timespan="minute"))
            assert not outcome.failed, outcome.message
            assert outcome.progress.bars == n, outcome.message
            assert len(outcome.datasets) == TICKERS

        paths = [
            ("raw insert_arrow (baseline)", raw),
            ("FlatFileStore.load (ClickHouse parses)", load),
            ("FlatFileLoader.run (+ register)", backfill),
        ]
        seconds: dict[str, list[float]] = {name: [] for name, _ in paths}
        cpu: dict[str, list[float]] = {name: [] for name, _ in paths}
        memory: dict[str, float] = {name: 0.0 for name, _ in paths}
        for _ in range(RUNS):  # interleaved, so drift on a shared machine hits every path alike
            for name, fn in paths:
                await _truncate(runtime)
                with PeakMemory() as peak:
                    started, cpu_started = time.perf_counter(), time.process_time()
                    await fn()
                    seconds[name].append(time.perf_counter() - started)
                    cpu[name].append(time.process_time() - cpu_started)
                memory[name] = max(memory[name], peak.mib)
        base, base_cpu = min(seconds[paths[0][0]]), min(cpu[paths[0][0]])
        for name, _ in paths:
            best = min(seconds[name])
            rows.append(
                {
                    "path": name,
                    "bars": n,
                    "best s": best,
                    "median s": statistics.median(seconds[name]),
                    "bars/s": n / best,
                    "ratio": base / best,
                    "cpu s": min(cpu[name]),
                    "cpu ratio": base_cpu / min(cpu[name]),
                    "peak MiB": memory[name],
                }
            )
    finally:
        await runtime.close()
    report("flat_files", rows)
