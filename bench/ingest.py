"""Storing bars: the bar store's insert (partition-sized chunks, series columns added) and the
whole synthetic fetch path, as ratios to one raw ``insert_arrow`` of the same rows into chDB."""

from __future__ import annotations

import datetime as dt
import time
from functools import partial
from typing import Any

import pyarrow as pa

from bench.common import minute_bars, report, start_runtime
from schemas.bars import SeriesKey
from schemas.datasets import FetchRequest

START, END = dt.date(2019, 1, 1), dt.date(2023, 12, 31)


def _insert(client: Any, table: pa.Table) -> None:
    client.insert_arrow("bars", table)


async def main() -> None:
    runtime = await start_runtime()
    rows: list[dict[str, Any]] = []
    try:
        bars = minute_bars("RAWI", START, END)
        n = bars.num_rows
        full = (
            bars.append_column("symbol", pa.repeat("RAWI", n))
            .append_column("timespan", pa.repeat("1m", n))
            .append_column("adjusted", pa.repeat(True, n))
            .append_column("source", pa.repeat("synthetic", n))
        )
        raw_s = 0.0
        for year in range(START.year, END.year + 1):  # chDB takes at most 100 partitions per insert
            part = full.filter(pa.compute.equal(pa.compute.year(full.column("ts")), year))
            started = time.perf_counter()
            await runtime.stack.clickhouse.run(partial(_insert, table=part))
            raw_s += time.perf_counter() - started

        started = time.perf_counter()
        await runtime.services.bars.insert(
            SeriesKey.of(symbol="STORE", series="1m", adjusted=True), "synthetic", bars
        )
        store_s = time.perf_counter() - started

        request = FetchRequest(symbols=["FETCH"], timespan="minute", from_=START, to=END, source="synthetic")
        started = time.perf_counter()
        outcome = await runtime.services.fetcher.run(request)
        fetch_s = time.perf_counter() - started
        assert not outcome.failed, outcome.failed

        rows = [
            {"path": "raw insert_arrow (baseline)", "bars": n, "bars/s": n / raw_s, "ratio": 1.0},
            {"path": "BarStore.insert", "bars": n, "bars/s": n / store_s, "ratio": raw_s / store_s},
            {
                "path": "synthetic fetch (generate + store + register)",
                "bars": outcome.bars,
                "bars/s": outcome.bars / fetch_s,
                "ratio": (outcome.bars / fetch_s) / (n / raw_s),
            },
        ]
    finally:
        await runtime.close()
    report("ingest", rows)
