"""Data-quality assessment of a ~1M-bar minute series, against a plain counting scan of it.

The assessment reads every distinct bar once (time and flag bits, with ``FINAL``), matches them
to the calendar's regular-session minutes in NumPy and stores the summary and every gap in
Postgres. The baseline is ``BarStore.stats`` on the same series: ``count(), min(ts), max(ts)``
with ``FINAL``, the least a dataset's registration already pays.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bench.common import minute_bars, p50, report, start_runtime, timings
from schemas.bars import SeriesKey
from schemas.datasets import exchange_day_bounds
from tests.data import store_minute_dataset

FIRST, LAST = dt.date(2016, 1, 1), dt.date(2024, 12, 31)
RUNS = 7


async def main() -> None:
    runtime = await start_runtime()
    rows: list[dict[str, Any]] = []
    try:
        bars = minute_bars("QUAL", FIRST, LAST)
        count = bars.num_rows
        await store_minute_dataset(runtime.services, "qual_1minute", "QUAL", bars, FIRST, LAST)
        del bars
        ref = SeriesKey.of(symbol="QUAL", series="1m", adjusted=True)
        window = exchange_day_bounds(FIRST, LAST)
        services = runtime.services

        baseline = p50(await timings(lambda: services.bars.stats(ref, *window), RUNS))
        assess = p50(await timings(lambda: services.quality.assess("qual_1minute", received=count), RUNS))
        report_ = p50(await timings(lambda: services.quality.report("qual_1minute"), RUNS))
        quality = await services.quality.assess("qual_1minute")
        print(
            f"{count:,} bars; {quality.expected:,} regular-session minutes expected;"
            f" coverage {quality.coverage:.4f}; {quality.gaps:,} gaps"
        )
        rows.append({"operation": "count scan (baseline)", "p50_ms": baseline * 1000, "ratio": 1.0})
        rows.append({"operation": "assess + store", "p50_ms": assess * 1000, "ratio": assess / baseline})
        rows.append({"operation": "read all gaps", "p50_ms": report_ * 1000, "ratio": report_ / baseline})
    finally:
        await runtime.close()
    report("quality", rows)
