"""Export throughput and peak memory: ≥ 10M stored minute bars to Parquet.

The exporter streams half a year at a time; the baseline reads the same rows with one raw chDB
query into memory and writes them with one ``pyarrow.parquet.write_table``. Peak memory is the
process's resident set, sampled every 10 ms, above what it held before the export began.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

import psutil
import pyarrow.parquet as pq

from bench.common import minute_bars, report, start_runtime
from tests.data import store_minute_dataset

SYMBOLS = int(os.environ.get("K2Q_BENCH_SYMBOLS", "8"))
FIRST, LAST = dt.date(2016, 1, 1), dt.date(2024, 12, 31)


class PeakMemory:
    """Highest resident memory above the starting point while the context lasts."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.start = self.process.memory_info().rss
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def mib(self) -> float:
        return (self.peak - self.start) / 2**20


def _query(client: Any, sql: str, symbol: str) -> Any:
    return client.query_arrow(sql, parameters={"s": symbol})


async def main() -> None:
    runtime = await start_runtime()
    rows: list[dict[str, Any]] = []
    try:
        tables = []
        total = 0
        for index in range(SYMBOLS):
            symbol = f"EXP{index}"
            bars = minute_bars(symbol, FIRST, LAST)
            total += bars.num_rows
            table = f"exp{index}_1minute"
            await store_minute_dataset(runtime.services, table, symbol, bars, FIRST, LAST)
            tables.append(table)
            del bars
        print(f"{total:,} minute bars stored over {SYMBOLS} symbols", flush=True)
        out = Path(tempfile.mkdtemp(prefix="k2q-export-"))

        started = time.perf_counter()
        with PeakMemory() as streamed_memory:
            for table in tables:
                with (out / f"{table}.parquet").open("wb") as handle:
                    async for chunk in await runtime.services.exporter.stream(table, "parquet"):
                        handle.write(chunk)
        streamed_s = time.perf_counter() - started
        exported = sum(pq.read_metadata(out / f"{table}.parquet").num_rows for table in tables)
        assert exported == total, (exported, total)

        sql = (
            "SELECT ts, open, high, low, close, volume, vwap, transactions FROM bars FINAL"
            " WHERE symbol = {s:String} ORDER BY ts"
        )
        started = time.perf_counter()
        with PeakMemory() as raw_memory:
            for index, table in enumerate(tables):
                whole = await runtime.stack.clickhouse.run(partial(_query, sql=sql, symbol=f"EXP{index}"))
                pq.write_table(whole, out / f"{table}.raw.parquet", compression="zstd")
                del whole
        raw_s = time.perf_counter() - started
        rows = [
            {"path": "k2q export (streamed, by half-years)", "rows": total, "rows/s": total / streamed_s,
             "peak extra MiB": streamed_memory.mib, "time ratio to raw": streamed_s / raw_s},
            {"path": "raw query + one write_table (baseline)", "rows": total, "rows/s": total / raw_s,
             "peak extra MiB": raw_memory.mib, "time ratio to raw": 1.0},
        ]  # fmt: skip
    finally:
        await runtime.close()
    report("export", rows)
