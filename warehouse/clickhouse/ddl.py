"""The ClickHouse tables, created idempotently."""

from __future__ import annotations

from typing import Final

BARS_TABLE: Final = "bars"

DAILY_OR_WIDER: Final = ("d", "w", "M", "Q", "y")

BARS_DDL: Final = f"""
CREATE TABLE IF NOT EXISTS {BARS_TABLE}
(
    symbol       LowCardinality(String),
    timespan     LowCardinality(String) COMMENT 'series code: 1m, 5m, 1h, 1d, 1w, 1M ...',
    adjusted     Bool,
    ts           DateTime64(3, 'UTC') COMMENT 'bar start',
    open         Float64,
    high         Float64,
    low          Float64,
    close        Float64,
    volume       Float64,
    vwap         Nullable(Float64),
    transactions Nullable(UInt32),
    source       LowCardinality(String),
    ingested_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY if(right(timespan, 1) IN {DAILY_OR_WIDER!r}, toYear(ts), toYYYYMM(ts))
ORDER BY (symbol, timespan, adjusted, ts)
"""
"""One table for every base bar. A re-fetched or re-streamed bar replaces the older copy (the
newest ``ingested_at`` wins once merged; exact reads use ``FINAL``). Intraday series are
partitioned by month, daily and wider by year."""

ROLLUPS_TABLE: Final = "bar_rollups"
ROLLUP_DIRTY_TABLE: Final = "rollup_dirty"

ROLLUPS_DDL: Final = f"""
CREATE TABLE IF NOT EXISTS {ROLLUPS_TABLE}
(
    symbol    LowCardinality(String),
    timespan  LowCardinality(String) COMMENT 'the stored series rolled up: 1m, 5m ...',
    adjusted  Bool,
    width     LowCardinality(String) COMMENT '30m or 1d, New York aligned',
    session   LowCardinality(String) COMMENT 'extended (every bar) or regular (09:30-16:00 only)',
    ts        DateTime64(3, 'UTC') COMMENT 'bucket start',
    open      Float64,
    high      Float64,
    low       Float64,
    close     Float64,
    volume    Float64,
    built_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(built_at)
PARTITION BY toYear(ts)
ORDER BY (symbol, timespan, adjusted, width, session, ts)
"""
"""Intraday series pre-aggregated for long chart windows (see :mod:`warehouse.clickhouse.rollups`)."""

ROLLUP_DIRTY_DDL: Final = f"""
CREATE TABLE IF NOT EXISTS {ROLLUP_DIRTY_TABLE}
(
    symbol    LowCardinality(String),
    timespan  LowCardinality(String),
    adjusted  Bool,
    day       Date32 COMMENT 'New York calendar day whose bars changed',
    removed   UInt8 COMMENT '1 when bars were deleted (buckets may have vanished)',
    marked_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY (symbol, timespan, adjusted, day)
"""
"""Days whose rollups must be rebuilt before they are read."""

ALL_DDL: Final = (BARS_DDL, ROLLUPS_DDL, ROLLUP_DIRTY_DDL)
