"""The write path as the store grows: bars/s of storing one more symbol at 5M, 50M and 100M stored bars.

Each level first fills the store up to its size inside chDB (``INSERT … SELECT … FROM numbers()``:
filler symbols shaped like stored ones, nine years of minute bars each, with their rollups),
merges it into one part per partition and waits for chDB to go quiet. Then it stores
``K2Q_BENCH_WRITE_SYMBOLS`` synthetic symbols one after another through the bar store's calls a
fetch makes (``BarStore.insert``, which also marks the rollup days, then
``BarStore.refresh_rollups``; the catalog and version round trips of ``BarWriter`` around them do
not depend on the bars stored), each paired with the baseline: the raw chDB ``insert_arrow`` of the
same bars into an empty table of the same definition, so the machine's drift hits both alike.

ClickHouse merges parts in the background, during and after the timed calls. After the last
symbol the bench waits until no merge has run for a few seconds, and reports the rows merged per
bar stored (by the write path or in the background, from ``system.events``) and the rate counting
that wait: what storing costs once the store has caught up. Last, it times chart slices of the
symbols it stored (``BarStore.chart_slice``: the whole history and one week, as
:mod:`bench.chart_scale` asks for them) over the store as the writes left it.

Sizes: ``K2Q_BENCH_WRITE_LEVELS`` (``5000000,50000000,100000000``: bars stored before each
measurement), ``K2Q_BENCH_WRITE_SYMBOLS`` (10 per level: enough parts of one size for ClickHouse
to merge them), ``K2Q_BENCH_FIRST_YEAR`` (2016; history runs to 2024-12-31).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import itertools
import os
import time
from typing import Any, Final

import pyarrow as pa
from clickhouse_connect.driver.client import Client

from api.runtime import Runtime
from bench.common import minute_bars, p50, report, start_runtime
from schemas.bars import SeriesKey, SliceQuery
from warehouse.clickhouse.buckets import bucket_sql
from warehouse.clickhouse.ddl import BARS, BARS_TABLE, ROLLUPS_TABLE
from warehouse.clickhouse.rollups import REGULAR_SESSION

END: Final = dt.date(2024, 12, 31)
END_AT: Final = dt.datetime(2025, 1, 1, 1, tzinfo=dt.UTC)
"""The end of the stored history: 20:00 New York on its last day."""
WEEK: Final = dt.datetime(2024, 6, 10, tzinfo=dt.UTC)
SLICE_WARMUP, SLICE_RUNS = 3, 20
SOURCE: Final = "synthetic"
FILLER_BARS: Final = 1_000_000
"""Bars of one filler symbol: about one synthetic symbol's nine years of minute bars."""
RAW_TABLE: Final = "bench_raw_bars"
QUIET_S: Final = 6.0
"""Seconds without a merge after which the store counts as caught up (chDB looks for merges
every 5 s when idle)."""
QUIET_LIMIT_S: Final = 900.0

_COUNTERS: Final = ("MergedRows", "Merge")
_ONE_PART: Final = {"min_insert_block_size_rows": 1 << 40, "min_insert_block_size_bytes": 1 << 40}
"""Squash thresholds no fill reaches: each fill insert becomes one part per partition."""


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _levels() -> list[int]:
    text = os.environ.get("K2Q_BENCH_WRITE_LEVELS") or "5000000,50000000,100000000"
    return sorted(int(item.replace("_", "")) for item in text.split(",") if item.strip())


async def main() -> None:
    levels = _levels()
    per_level = _env_int("K2Q_BENCH_WRITE_SYMBOLS", 10)
    start = dt.date(_env_int("K2Q_BENCH_FIRST_YEAR", 2016), 1, 1)
    runtime = await start_runtime()
    rows: list[dict[str, Any]] = []
    try:
        bench = _Bench(runtime, start)
        await bench.run(_create_raw_table)
        for index, level in enumerate(levels):
            began = time.perf_counter()
            added = await bench.fill(level)
            print(
                f"filled to {await bench.count():,} bars (+{added:,}) and settled in"
                f" {time.perf_counter() - began:.1f} s",
                flush=True,
            )
            rows.append(await bench.measure([f"W{index}S{n}" for n in range(per_level)]))
            print(f"  {rows[-1]}", flush=True)
        await bench.run(lambda client: client.command(f"DROP TABLE IF EXISTS {RAW_TABLE}"))
    finally:
        await runtime.close()
    summary = [
        {
            "stored at first": rows[0]["stored bars"],
            "stored at last": rows[-1]["stored bars"],
            "bars/s last / first": rows[-1]["bars/s"] / rows[0]["bars/s"],
            "incl. merges last / first": rows[-1]["bars/s incl. merges"] / rows[0]["bars/s incl. merges"],
            "raw last / first": rows[-1]["raw bars/s"] / rows[0]["raw bars/s"],
        }
    ]
    print(f"\nthe write path of a fetch, {per_level} symbols stored one after another per level\n")
    report("write_scale", rows)
    print("\nthe rate at the largest store over the rate at the smallest (1.0: no slower)\n")
    report("write_scale_ratio", summary)


class _Bench:
    def __init__(self, runtime: Runtime, start: dt.date) -> None:
        self.runtime = runtime
        self.start = start
        self.windows = [
            ("whole history", dt.datetime.combine(start, dt.time(), dt.UTC), END_AT),
            ("one week", WEEK, WEEK + dt.timedelta(days=7)),
        ]
        self.fillers = 0

    async def run(self, fn: Any) -> Any:
        return await self.runtime.stack.clickhouse.run(fn)

    async def count(self) -> int:
        return int(await self.run(lambda client: client.command(f"SELECT count() FROM {BARS_TABLE}")))

    async def fill(self, level: int) -> int:
        """Add filler symbols until about ``level`` bars are stored, merge it all, wait for quiet.

        Merged into one part per partition, the store has no merge pending that the measured
        writes did not cause (a store grown over time has its merges spread out instead).
        """
        symbols = max(0, round((level - await self.count()) / FILLER_BARS))
        first, self.fillers = self.fillers, self.fillers + symbols
        if symbols:
            await self.run(lambda client: _fill(client, first, symbols, self.start))
        await self.run(_merge_all)
        await self.quiet()
        return symbols * FILLER_BARS

    async def quiet(self) -> float:
        """Wait until no merge has run for :data:`QUIET_S` seconds; return the seconds waited."""
        began = time.perf_counter()
        last_seen = began
        merges = await self.counters()
        while time.perf_counter() - last_seen < QUIET_S and time.perf_counter() - began < QUIET_LIMIT_S:
            await asyncio.sleep(0.5)
            running = int(await self.run(lambda client: client.command("SELECT count() FROM system.merges")))
            now = await self.counters()
            if running or now != merges:
                last_seen = time.perf_counter()
                merges = now
        return max(0.0, last_seen - began)

    async def counters(self) -> dict[str, int]:
        names = ", ".join(f"'{name}'" for name in _COUNTERS)
        result = await self.run(
            lambda client: client.query(f"SELECT event, value FROM system.events WHERE event IN ({names})")
        )
        found = {str(name): int(value) for name, value in result.result_rows}
        return {name: found.get(name, 0) for name in _COUNTERS}

    async def measure(self, symbols: list[str]) -> dict[str, Any]:
        """Store ``symbols`` one after another through the write path, each paired with a raw insert."""
        stored = await self.count()
        services = self.runtime.services
        batches = {symbol: minute_bars(symbol, self.start, END) for symbol in symbols}
        before = await self.counters()
        write_s = raw_s = insert_s = rollups_s = 0.0
        written = 0
        rates: list[float] = []
        for symbol, bars in batches.items():
            raw_s += await self.raw_insert(symbol, bars)
            ref = SeriesKey.of(symbol=symbol, series="1m", adjusted=True)
            began = time.perf_counter()
            await services.bars.insert(ref, SOURCE, bars)
            inserted = time.perf_counter()
            await services.bars.refresh_rollups(ref)
            done = time.perf_counter()
            insert_s += inserted - began
            rollups_s += done - inserted
            write_s += done - began
            written += bars.num_rows
            rates.append(bars.num_rows / (done - began))
        during = await self.counters()
        wait_s = await self.quiet()
        after = await self.counters()
        parts = await self.run(_parts)
        slices = {label: await self.slice_ms(symbols, lo, hi) for label, lo, hi in self.windows}
        return {
            "stored bars": stored,
            "symbols": len(symbols),
            "bars written": written,
            "write path s": write_s,
            "bars/s": written / write_s,
            "slowest symbol bars/s": min(rates),
            "raw bars/s": written / raw_s,
            "raw / write path": raw_s / write_s,
            "insert s": insert_s,
            "rollups s": rollups_s,
            "merged rows / bar, during": (during["MergedRows"] - before["MergedRows"]) / written,
            "merge wait s": wait_s,
            "merged rows / bar, in all": (after["MergedRows"] - before["MergedRows"]) / written,
            "bars/s incl. merges": written / (write_s + wait_s),
            "parts": parts[0],
            "max parts in a partition": parts[1],
            **{f"slice {label} p50 ms": ms for label, ms in slices.items()},
        }

    async def slice_ms(self, symbols: list[str], lo: dt.datetime, hi: dt.datetime) -> float:
        """p50 milliseconds of ``BarStore.chart_slice`` over ``[lo, hi]``, alternating ``symbols``.

        Each run starts the window a second earlier, so no run repeats one before it.
        """
        samples = []
        for n in range(SLICE_WARMUP + SLICE_RUNS):
            ref = SeriesKey.of(symbol=symbols[n % len(symbols)], series="1m", adjusted=True)
            query = SliceQuery(
                ref=ref, timeframe="1m", start=lo - dt.timedelta(seconds=n), end=hi, max_points=2000
            )
            began = time.perf_counter()
            await self.runtime.services.bars.chart_slice(query)
            samples.append(time.perf_counter() - began)
        return p50(samples[SLICE_WARMUP:]) * 1000

    async def raw_insert(self, symbol: str, bars: pa.Table) -> float:
        """Seconds of one raw ``insert_arrow`` of ``bars`` into the empty baseline table."""
        n = bars.num_rows
        full = (
            bars.append_column("symbol", pa.repeat(symbol, n))
            .append_column("timespan", pa.repeat("1m", n))
            .append_column("adjusted", pa.repeat(True, n))
            .append_column("source", pa.repeat(SOURCE, n))
        )

        def insert(client: Client) -> float:
            client.command(f"TRUNCATE TABLE {RAW_TABLE}")
            began = time.perf_counter()
            client.insert_arrow(RAW_TABLE, full, settings={"max_partitions_per_insert_block": 0})
            return time.perf_counter() - began

        seconds: float = await self.run(insert)
        return seconds


def _create_raw_table(client: Client) -> None:
    client.command(f"DROP TABLE IF EXISTS {RAW_TABLE}")
    client.command(dataclasses.replace(BARS, name=RAW_TABLE).create())


def _fill(client: Client, first: int, symbols: int, start: dt.date) -> None:
    """Store ``symbols`` filler symbols (numbered from ``first``) of :data:`FILLER_BARS` bars each.

    A filler's bars are spread evenly over ``start`` .. :data:`END` on whole minutes, with prices
    in cents. One insert per year, squashed into one block, writes one part per partition (a
    year, or a month where a table is partitioned by month), as a store merged long ago holds
    them; the fillers' rollups are built from their bars.
    """
    origin = dt.datetime.combine(start, dt.time(), dt.UTC)
    span_min = _minutes(origin, dt.datetime.combine(END + dt.timedelta(days=1), dt.time(), dt.UTC))
    years = [dt.datetime(year, 1, 1, tzinfo=dt.UTC) for year in range(start.year, END.year + 2)]
    for lo, hi in itertools.pairwise(years):
        k_lo = -(-_minutes(origin, lo) * FILLER_BARS // span_min)
        per = -(-_minutes(origin, hi) * FILLER_BARS // span_min) - k_lo
        client.command(
            f"INSERT INTO {BARS_TABLE} (symbol, timespan, adjusted, ts, open, high, low, close, volume,"
            " vwap, transactions, source)"
            " SELECT symbol, '1m', true, ts, o, round(o + randCanonical(1), 2),"
            " round(o - randCanonical(2), 2), round(o + randCanonical(3) - 0.5, 2),"
            f" floor(randCanonical(4) * 10000), o, rand(5) % 500, '{SOURCE}'"
            " FROM (SELECT"
            f"  concat('F', leftPad(toString({first} + intDiv(number, {per})), 5, '0')) AS symbol,"
            f"  {k_lo} + number % {per} AS k,"
            f"  toDateTime64('{origin:%Y-%m-%d %H:%M:%S}', 3, 'UTC')"
            f"    + toIntervalMinute(intDiv(k * {span_min}, {FILLER_BARS})) AS ts,"
            f"  round(20 + (intDiv(number, {per}) % 400) + 10 * sin(k / 5000), 2) AS o"
            f" FROM numbers({symbols * per}))",
            settings=_ONE_PART,
        )
    names = [f"F{first + n:05d}" for n in range(symbols)]
    for year in range(start.year, END.year + 1):
        _fill_rollups(client, names, year)


def _minutes(lo: dt.datetime, hi: dt.datetime) -> int:
    return int((hi - lo).total_seconds()) // 60


def _fill_rollups(client: Client, symbols: list[str], year: int) -> None:
    """The rollups of ``symbols``' bars in ``year``, built as :meth:`Rollups.refresh` builds them."""
    for width, session in (("30m", "extended"), ("1d", "extended"), ("1d", "regular")):
        regular = REGULAR_SESSION if session == "regular" else ""
        client.command(
            f"INSERT INTO {ROLLUPS_TABLE} (symbol, timespan, adjusted, width, session, ts,"
            " open, high, low, close, volume, built_at)"
            f" SELECT symbol, timespan, adjusted, '{width}', '{session}', {bucket_sql(width, 'ts')} AS b,"
            " argMin(open, ts), max(high), min(low), argMax(close, ts), sum(volume), now64(3)"
            f" FROM {BARS_TABLE} WHERE symbol IN {{symbols:Array(String)}} AND toYear(ts) = {year}{regular}"
            " GROUP BY symbol, timespan, adjusted, b",
            parameters={"symbols": symbols},
            settings=_ONE_PART,
        )


def _merge_all(client: Client) -> None:
    """Merge every partition of the bars and rollups into one part."""
    for table in (BARS_TABLE, ROLLUPS_TABLE):
        client.command(f"OPTIMIZE TABLE {table} FINAL")


def _parts(client: Client) -> tuple[int, int]:
    """Active parts of the bar table, and the most in one partition."""
    result = client.query(
        "SELECT sum(n), max(n) FROM (SELECT partition_id, count() AS n FROM system.parts"
        f" WHERE active AND database = currentDatabase() AND table = '{BARS_TABLE}' GROUP BY partition_id)"
    )
    total, most = result.result_rows[0]
    return int(total), int(most)
