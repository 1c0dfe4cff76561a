"""The ClickHouse tables, created idempotently, for one server and for a sharded, replicated cluster."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Final

from clickhouse_connect.driver.client import Client

BARS_TABLE: Final = "bars"
ROLLUPS_TABLE: Final = "bar_rollups"
ROLLUP_DIRTY_TABLE: Final = "rollup_dirty"
INDICATOR_VALUES_TABLE: Final = "indicator_values"
PROJECTION_VALUES_TABLE: Final = "projection_values"

DAILY_OR_WIDER: Final = ("d", "w", "M", "Q", "y")

IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

SHARDING_KEY: Final = "cityHash64(symbol)"
"""Every table of a cluster routes rows by symbol: a series' bars, rollups and marks live on one
shard, so FINAL (which each shard applies to its own parts) still returns each bar once."""


@dataclass(frozen=True)
class Table:
    """One table's definition, rendered as a single-node table or as a cluster's local + Distributed pair."""

    name: str
    columns: tuple[str, ...]
    engine: str
    """A MergeTree-family engine; on a cluster it becomes the Replicated variant with the same arguments."""
    order_by: str
    partition_by: str | None = None

    def create(self) -> str:
        """``CREATE TABLE IF NOT EXISTS`` for one server (chDB or a single ClickHouse)."""
        return self._create(self.name, self.engine)

    def create_on_cluster(self, cluster: str, database: str) -> tuple[str, str]:
        """The cluster's ``{name}_local`` replicated table and the ``{name}`` Distributed table over it."""
        local = f"{self.name}_local"
        return (
            self._create(f"{database}.{local} ON CLUSTER {cluster}", f"Replicated{self.engine}"),
            f"CREATE TABLE IF NOT EXISTS {database}.{self.name} ON CLUSTER {cluster} AS {database}.{local}\n"
            f"ENGINE = Distributed({cluster}, {database}, {local}, {SHARDING_KEY})",
        )

    def _create(self, target: str, engine: str) -> str:
        columns = ",\n".join(f"    {column}" for column in self.columns)
        partition = f"PARTITION BY {self.partition_by}\n" if self.partition_by else ""
        return (
            f"CREATE TABLE IF NOT EXISTS {target}\n(\n{columns}\n)\n"
            f"ENGINE = {engine}\n{partition}ORDER BY ({self.order_by})"
        )


BARS: Final = Table(
    name=BARS_TABLE,
    columns=(
        "symbol       LowCardinality(String)",
        "timespan     LowCardinality(String) COMMENT 'series code: 1m, 5m, 1h, 1d, 1w, 1M ...'",
        "adjusted     Bool",
        "ts           DateTime64(3, 'UTC') COMMENT 'bar start'",
        "open         Float64",
        "high         Float64",
        "low          Float64",
        "close        Float64",
        "volume       Float64",
        "vwap         Nullable(Float64)",
        "transactions Nullable(UInt32)",
        "source       LowCardinality(String)",
        "ingested_at  DateTime64(3, 'UTC') DEFAULT now64(3)",
    ),
    engine="ReplacingMergeTree(ingested_at)",
    partition_by="toYear(ts)",
    order_by="symbol, timespan, adjusted, ts",
)
"""One table for every base bar. A re-fetched or re-streamed bar replaces the older copy (the
newest ``ingested_at`` wins once merged; exact reads use ``FINAL``).

Partitioned by year: a partition holds every symbol's bars of its year. Writes only add parts
(one per year they touch) and ClickHouse merges them in the background; merging a partition after
each write would rewrite every other symbol's bars in it. A series' whole history spans one
partition a year, each of a few parts, so a long window reads few parts. (An embedded data
directory made when intraday bars were partitioned by month is moved over once, by
:func:`repartition`; a server's table keeps its month partitions, which work as well.)"""

ROLLUPS: Final = Table(
    name=ROLLUPS_TABLE,
    columns=(
        "symbol    LowCardinality(String)",
        "timespan  LowCardinality(String) COMMENT 'the stored series rolled up: 1m, 5m ...'",
        "adjusted  Bool",
        "width     LowCardinality(String) COMMENT '30m or 1d, New York aligned'",
        "session   LowCardinality(String) COMMENT 'extended (every bar) or regular (09:30-16:00 only)'",
        "ts        DateTime64(3, 'UTC') COMMENT 'bucket start'",
        "open      Float64",
        "high      Float64",
        "low       Float64",
        "close     Float64",
        "volume    Float64",
        "built_at  DateTime64(3, 'UTC')",
    ),
    engine="ReplacingMergeTree(built_at)",
    partition_by="toYear(ts)",
    order_by="symbol, timespan, adjusted, width, session, ts",
)
"""Intraday series pre-aggregated for long chart windows (see :mod:`warehouse.clickhouse.rollups`)."""

ROLLUP_DIRTY: Final = Table(
    name=ROLLUP_DIRTY_TABLE,
    columns=(
        "symbol    LowCardinality(String)",
        "timespan  LowCardinality(String)",
        "adjusted  Bool",
        "day       Date32 COMMENT 'New York calendar day whose bars changed'",
        "removed   UInt8 COMMENT '1 when bars were deleted (buckets may have vanished)'",
        "marked_at DateTime64(3, 'UTC') DEFAULT now64(3)",
    ),
    engine="MergeTree",
    order_by="symbol, timespan, adjusted, day",
)
"""Days whose rollups must be rebuilt before they are read."""

INDICATOR_VALUES: Final = Table(
    name=INDICATOR_VALUES_TABLE,
    columns=(
        "symbol    LowCardinality(String)",
        "timespan  LowCardinality(String) COMMENT 'the stored series computed over: 1m, 1d ...'",
        "adjusted  Bool",
        "session   LowCardinality(String) COMMENT 'extended or regular'",
        "width     LowCardinality(String) COMMENT 'bucket width of the values: 1m ... 12M'",
        "spec      String COMMENT 'canonical indicator spec, e.g. macd(12,26,9)'",
        "output    LowCardinality(String) COMMENT 'TA-Lib output name, e.g. macdsignal'",
        "chunk     DateTime64(3, 'UTC') COMMENT 'UTC month (intraday widths) or year of the buckets'",
        "ts        Array(Int64) COMMENT 'bucket starts, epoch ms, ascending'",
        "values    Array(Float64) COMMENT 'one value per bucket, nan where undefined'",
        "version   UInt64 COMMENT 'when written (ns): the newest copy of a chunk wins'",
    ),
    engine="ReplacingMergeTree(version)",
    order_by="symbol, timespan, adjusted, session, width, spec, output, chunk",
)
"""Indicator outputs over whole series (see :mod:`warehouse.clickhouse.indicator_values`)."""

PROJECTION_VALUES: Final = Table(
    name=PROJECTION_VALUES_TABLE,
    columns=(
        "projection_id     String",
        "symbol            LowCardinality(String)",
        "is_projection     Bool DEFAULT true COMMENT 'rows beside real bars (the seed''s flag)'",
        "projection_source String COMMENT 'method and parameters, as JSON'",
        "created_at        DateTime64(3, 'UTC')",
        "last_bar          Int64 COMMENT 'the last real bar seen, epoch ms'",
        "ts                Array(Int64) COMMENT 'the future bucket starts, epoch ms, ascending'",
        "median            Array(Float64)",
        "lower             Array(Float64)",
        "upper             Array(Float64)",
    ),
    engine="ReplacingMergeTree",
    order_by="symbol, projection_id",
)
"""Projections: one row per projection, its path and band as arrays (see ``projection_values``)."""

TABLES: Final = (BARS, ROLLUPS, ROLLUP_DIRTY, INDICATOR_VALUES, PROJECTION_VALUES)

ALL_DDL: Final = tuple(table.create() for table in TABLES)


def cluster_ddl(cluster: str = "k2q", database: str = "k2q") -> str:
    """The script that creates every table on a cluster; run once against any node, idempotent.

    The application then reads and writes the Distributed tables under the single-node names,
    and its own ``CREATE TABLE IF NOT EXISTS`` statements are no-ops.

    Raises:
        ValueError: ``cluster`` or ``database`` is not a plain identifier.
    """
    for name in (cluster, database):
        if not IDENTIFIER.fullmatch(name):
            raise ValueError(
                f"not a ClickHouse identifier: {name!r} (letters, digits and _, not starting with a digit)"
            )
    statements = [f"CREATE DATABASE IF NOT EXISTS {database} ON CLUSTER {cluster}"]
    for table in TABLES:
        statements.extend(table.create_on_cluster(cluster, database))
    return "".join(f"{statement};\n\n" for statement in statements).rstrip() + "\n"


def repartition(client: Client, table: Table) -> bool:
    """Give ``table``, when stored with another partition key, the key it has now; return whether it did.

    ``CREATE TABLE IF NOT EXISTS`` keeps a table as it was first created, so a partition key
    changed since then (the bar table's months became years) is applied here, once: the rows are
    copied, a year of ``ts`` at a time, into a new table of the current definition, which then
    takes the table's place in one step (``EXCHANGE TABLES``). What an interrupted run left (the
    copy, or the old table after the exchange) is dropped. A table of another engine (a cluster's
    Distributed or replicated tables, which :func:`cluster_ddl` creates) is left alone. Only one
    process may run this on a table at a time: the embedded store calls it on start (see
    ``BarStore.ensure_schema``).
    """
    found = client.query(
        "SELECT engine, partition_key FROM system.tables"
        " WHERE database = currentDatabase() AND name = {name:String}",
        parameters={"name": table.name},
    ).result_rows
    if not found or table.partition_by is None:
        return False
    engine, key = found[0]
    if engine != table.engine.split("(")[0]:
        return False
    copy = f"{table.name}_repartitioned"
    client.command(f"DROP TABLE IF EXISTS {copy}")  # left by a run stopped before or after the exchange
    if _bare(str(key)) == _bare(table.partition_by):
        return False
    columns = ", ".join(column.split()[0] for column in table.columns)
    client.command(dataclasses.replace(table, name=copy).create())
    years = client.query(f"SELECT DISTINCT toYear(ts) FROM {table.name} ORDER BY 1").result_rows
    for (year,) in years:  # a year of rows lands in at most twelve old partitions and one new one
        client.command(
            f"INSERT INTO {copy} ({columns}) SELECT {columns} FROM {table.name}"
            f" WHERE toYear(ts) = {int(year)}"
        )
    client.command(f"EXCHANGE TABLES {table.name} AND {copy}")
    client.command(f"DROP TABLE {copy}")
    return True


def _bare(expression: str) -> str:
    """An expression without spaces, to compare how ClickHouse prints a key with how we write it.

    >>> _bare("toYear(ts)") == _bare("toYear( ts )")
    True
    """
    return "".join(expression.split())
