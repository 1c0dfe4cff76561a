"""A data directory whose bar table is partitioned by month gets yearly partitions once, on start.

``CREATE TABLE IF NOT EXISTS`` keeps an existing table as it is, so :meth:`BarStore.ensure_schema`
moves the bars of a table made with the old key into one with the current key, with their
``ingested_at``, so reads answer as before (the newest copy of a bar wins).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pyarrow.compute as pc
from clickhouse_connect.driver.client import Client

from api.runtime import Runtime
from pipelines.ingest.sources.synthetic import generate_bars
from schemas.bars import SeriesKey
from warehouse.clickhouse.ddl import BARS, BARS_TABLE, DAILY_OR_WIDER, TABLES, repartition

MONTHLY = f"if(right(timespan, 1) IN {DAILY_OR_WIDER!r}, toYear(ts), toYYYYMM(ts))"
"""The bar table's partition key before: months for intraday series, years for daily and wider."""
FIRST, LAST = dt.date(2023, 12, 27), dt.date(2024, 1, 3)


def table_state(client: Client) -> tuple[str, list[str], int, list[str]]:
    """The bar table's partition key, partitions and rows, and any table a migration left behind."""
    key = client.command(
        "SELECT partition_key FROM system.tables"
        f" WHERE database = currentDatabase() AND name = '{BARS_TABLE}'"
    )
    partitions = client.query(
        "SELECT DISTINCT partition_id FROM system.parts WHERE active AND database = currentDatabase()"
        f" AND table = '{BARS_TABLE}' ORDER BY 1"
    ).result_rows
    rows = int(client.command(f"SELECT count() FROM {BARS_TABLE}"))
    leftovers = client.query(
        "SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE '%repartitioned%'"
    ).result_rows
    return str(key), [str(row[0]) for row in partitions], rows, [str(row[0]) for row in leftovers]


async def test_a_monthly_bar_table_is_moved_to_yearly_partitions_once(clean: Runtime) -> None:
    clickhouse, bars = clean.stack.clickhouse, clean.services.bars
    minute = SeriesKey.of(symbol="OLDKEY", series="1m", adjusted=True)
    daily = SeriesKey.of(symbol="OLDKEY", series="1d", adjusted=True)
    minutes = generate_bars(minute, FIRST, LAST)
    corrected = minutes.set_column(
        minutes.schema.get_field_index("close"), "close", pc.add(minutes.column("close"), 1.0)
    )
    daily_bars = generate_bars(daily, FIRST, LAST)
    first, last = minutes.column("ts")[0].as_py(), minutes.column("ts")[-1].as_py()

    def recreate(client: Client, key: str) -> None:
        client.command(f"DROP TABLE IF EXISTS {BARS_TABLE}")
        client.command(dataclasses.replace(BARS, partition_by=key).create())

    try:
        await clickhouse.run(lambda client: recreate(client, MONTHLY))
        await bars.insert(minute, "synthetic", minutes)
        await bars.insert(minute, "synthetic", corrected)  # newer copies: they must still win
        await bars.insert(daily, "synthetic", daily_bars)
        _, partitions, rows, _ = await clickhouse.run(table_state)
        assert partitions == ["2023", "202312", "2024", "202401"]  # daily by year, minutes by month

        await bars.ensure_schema()

        key, partitions, moved, leftovers = await clickhouse.run(table_state)
        assert key == "toYear(ts)"
        assert partitions == ["2023", "2024"]
        assert 0 < moved <= rows  # copies of a bar may fold on the way: the newest is kept
        assert leftovers == []
        stats = await bars.stats(minute, first, last)
        assert stats.count == minutes.num_rows
        days = daily_bars.column("ts")
        assert (await bars.stats(daily, days[0].as_py(), days[-1].as_py())).count == len(days)
        page = await bars.page(minute, first, last, 0, minutes.num_rows)
        assert page.column("close").to_pylist() == corrected.column("close").to_pylist()
        assert not await clickhouse.run(lambda client: repartition(client, BARS))  # once only

        # A run stopped between the exchange and the drop left the old table: it goes on start.
        await clickhouse.run(
            lambda client: client.command(f"CREATE TABLE {BARS_TABLE}_repartitioned AS {BARS_TABLE}")
        )
        await bars.ensure_schema()
        assert (await clickhouse.run(table_state))[3] == []
    finally:
        await clickhouse.run(lambda client: recreate(client, str(BARS.partition_by)))


async def test_tables_as_created_now_are_not_moved(runtime: Runtime) -> None:
    def moved(client: Client) -> list[str]:
        return [table.name for table in TABLES if repartition(client, table)]

    assert await runtime.stack.clickhouse.run(moved) == []
