"""Storing a symbol costs the same whatever else is stored: no write merges the bars already there.

A partition (a year) holds every symbol's bars, so a merge of the partitions a write touched would
rewrite all the others' bars. Writes only add parts; ClickHouse's background merges (chDB runs
them too) fold them, and ``FINAL`` keeps reads exact until they do.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator

import pyarrow as pa
import pyarrow.compute as pc
from clickhouse_connect.driver.client import Client

from api.runtime import Runtime
from pipelines.ingest.sources.synthetic import generate_bars
from schemas.bars import SeriesKey
from warehouse.clickhouse.ddl import BARS_TABLE

FIRST, LAST = dt.date(2023, 12, 27), dt.date(2024, 1, 3)
"""Five trading days across two partitions."""


def key(symbol: str) -> SeriesKey:
    return SeriesKey.of(symbol=symbol, series="1m", adjusted=True)


async def store(runtime: Runtime, ref: SeriesKey, bars: pa.Table) -> None:
    """The bar store's part of a fetch's write path: insert, compact, refresh the rollups."""
    services = runtime.services
    await services.bars.insert(ref, "synthetic", bars)
    await services.bars.refresh_rollups(ref)


async def active_parts(runtime: Runtime, partition: str | None = None) -> dict[str, int]:
    """The bar table's active parts (name → rows), of one partition or all."""
    where = "" if partition is None else f" AND partition_id = '{partition}'"
    result = await runtime.stack.clickhouse.run(
        lambda client: client.query(
            "SELECT name, rows FROM system.parts WHERE active AND database = currentDatabase()"
            f" AND table = '{BARS_TABLE}'{where}"
        )
    )
    return {str(name): int(rows) for name, rows in result.result_rows}


@contextlib.asynccontextmanager
async def background_merges_held(runtime: Runtime) -> AsyncIterator[None]:
    """No background merge can pick a part of the bar table (an explicit ``OPTIMIZE`` still can)."""

    def hold(client: Client, setting: str) -> None:
        client.command(f"ALTER TABLE {BARS_TABLE} {setting}")

    clickhouse = runtime.stack.clickhouse
    await clickhouse.run(lambda c: hold(c, "MODIFY SETTING max_bytes_to_merge_at_max_space_in_pool = 1"))
    try:
        yield
    finally:
        await clickhouse.run(lambda c: hold(c, "RESET SETTING max_bytes_to_merge_at_max_space_in_pool"))


async def test_storing_a_symbol_rewrites_none_of_the_bars_already_stored(clean: Runtime) -> None:
    async with background_merges_held(clean):
        for n in range(4):
            ref = key(f"MERGED{n}")
            await store(clean, ref, generate_bars(ref, FIRST, LAST))
        before = await active_parts(clean)

        ref = key("MERGED4")
        bars = generate_bars(ref, FIRST, LAST)
        await store(clean, ref, bars)
        after = await active_parts(clean)

    assert len({name.split("_")[0] for name in before}) == 2  # both years hold the four symbols
    assert set(before) <= set(after), "a write merged (rewrote) parts holding other symbols' bars"
    added = {name: rows for name, rows in after.items() if name not in before}
    assert sum(added.values()) == bars.num_rows  # only the new symbol's bars were written


async def test_the_parts_writes_leave_are_merged_in_the_background(clean: Runtime) -> None:
    for n in range(12):
        ref = key(f"BACKGROUND{n}")
        await store(clean, ref, generate_bars(ref, dt.date(2024, 3, 5), dt.date(2024, 3, 5)))

    deadline = time.monotonic() + 60
    while len(parts := await active_parts(clean, "2024")) >= 12 and time.monotonic() < deadline:
        await asyncio.sleep(0.2)

    assert len(parts) < 12, "chDB merged none of the twelve parts by itself"


async def test_reads_fold_restored_bars_before_any_merge(clean: Runtime) -> None:
    ref = key("RESTORED")
    bars = generate_bars(ref, FIRST, LAST)
    corrected = bars.set_column(
        bars.schema.get_field_index("close"), "close", pc.add(bars.column("close"), 1.0)
    )
    first, last = bars.column("ts")[0].as_py(), bars.column("ts")[-1].as_py()
    async with background_merges_held(clean):
        await store(clean, ref, bars)
        await store(clean, ref, corrected)  # ingested later: replaces every bar

        assert len(await active_parts(clean)) == 4  # two writes × two years, none merged
        stats = await clean.services.bars.stats(ref, first, last)
        page = await clean.services.bars.page(ref, first, last, 0, bars.num_rows + 1)

    assert stats.count == bars.num_rows
    assert page.column("close").to_pylist() == corrected.column("close").to_pylist()
