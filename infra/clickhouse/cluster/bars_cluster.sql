-- The bar store on the `k2q` cluster (infra/clickhouse/cluster/config.d/cluster.xml): two shards,
-- two replicas each. Run once, against any node, before the API or a worker starts; it is idempotent.
-- docker-compose.cluster.yml runs it in the one-shot `clickhouse-init` service:
--
--   clickhouse-client --host clickhouse --user k2q --password "$PASSWORD" --multiquery < bars_cluster.sql
--
-- Generated from the single-node tables in warehouse/clickhouse/ddl.py by `k2q cluster-ddl`
-- (a test checks that this file matches it): each node stores its shard's rows in `<table>_local`
-- (the Replicated variant of the same engine, columns, partitioning and sorting key), and the
-- application reads and writes `<table>`, a Distributed table over it that routes every row by
-- cityHash64(symbol). All bars, rollups and rollup marks of a symbol live on one shard, so FINAL
-- (which each shard applies to its own parts) still returns each bar once, and the application's own
-- `CREATE TABLE IF NOT EXISTS` statements are no-ops.

CREATE DATABASE IF NOT EXISTS k2q ON CLUSTER k2q;

CREATE TABLE IF NOT EXISTS k2q.bars_local ON CLUSTER k2q
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
ENGINE = ReplicatedReplacingMergeTree(ingested_at)
PARTITION BY toYear(ts)
ORDER BY (symbol, timespan, adjusted, ts);

CREATE TABLE IF NOT EXISTS k2q.bars ON CLUSTER k2q AS k2q.bars_local
ENGINE = Distributed(k2q, k2q, bars_local, cityHash64(symbol));

CREATE TABLE IF NOT EXISTS k2q.bar_rollups_local ON CLUSTER k2q
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
ENGINE = ReplicatedReplacingMergeTree(built_at)
PARTITION BY toYear(ts)
ORDER BY (symbol, timespan, adjusted, width, session, ts);

CREATE TABLE IF NOT EXISTS k2q.bar_rollups ON CLUSTER k2q AS k2q.bar_rollups_local
ENGINE = Distributed(k2q, k2q, bar_rollups_local, cityHash64(symbol));

CREATE TABLE IF NOT EXISTS k2q.rollup_dirty_local ON CLUSTER k2q
(
    symbol    LowCardinality(String),
    timespan  LowCardinality(String),
    adjusted  Bool,
    day       Date32 COMMENT 'New York calendar day whose bars changed',
    removed   UInt8 COMMENT '1 when bars were deleted (buckets may have vanished)',
    marked_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplicatedMergeTree
ORDER BY (symbol, timespan, adjusted, day);

CREATE TABLE IF NOT EXISTS k2q.rollup_dirty ON CLUSTER k2q AS k2q.rollup_dirty_local
ENGINE = Distributed(k2q, k2q, rollup_dirty_local, cityHash64(symbol));

CREATE TABLE IF NOT EXISTS k2q.indicator_values_local ON CLUSTER k2q
(
    symbol    LowCardinality(String),
    timespan  LowCardinality(String) COMMENT 'the stored series computed over: 1m, 1d ...',
    adjusted  Bool,
    session   LowCardinality(String) COMMENT 'extended or regular',
    width     LowCardinality(String) COMMENT 'bucket width of the values: 1m ... 12M',
    spec      String COMMENT 'canonical indicator spec, e.g. macd(12,26,9)',
    output    LowCardinality(String) COMMENT 'TA-Lib output name, e.g. macdsignal',
    chunk     DateTime64(3, 'UTC') COMMENT 'UTC month (intraday widths) or year of the buckets',
    ts        Array(Int64) COMMENT 'bucket starts, epoch ms, ascending',
    values    Array(Float64) COMMENT 'one value per bucket, nan where undefined',
    version   UInt64 COMMENT 'when written (ns): the newest copy of a chunk wins'
)
ENGINE = ReplicatedReplacingMergeTree(version)
ORDER BY (symbol, timespan, adjusted, session, width, spec, output, chunk);

CREATE TABLE IF NOT EXISTS k2q.indicator_values ON CLUSTER k2q AS k2q.indicator_values_local
ENGINE = Distributed(k2q, k2q, indicator_values_local, cityHash64(symbol));

CREATE TABLE IF NOT EXISTS k2q.projection_values_local ON CLUSTER k2q
(
    projection_id     String,
    symbol            LowCardinality(String),
    is_projection     Bool DEFAULT true COMMENT 'rows beside real bars (the seed''s flag)',
    projection_source String COMMENT 'method and parameters, as JSON',
    created_at        DateTime64(3, 'UTC'),
    last_bar          Int64 COMMENT 'the last real bar seen, epoch ms',
    ts                Array(Int64) COMMENT 'the future bucket starts, epoch ms, ascending',
    median            Array(Float64),
    lower             Array(Float64),
    upper             Array(Float64)
)
ENGINE = ReplicatedReplacingMergeTree
ORDER BY (symbol, projection_id);

CREATE TABLE IF NOT EXISTS k2q.projection_values ON CLUSTER k2q AS k2q.projection_values_local
ENGINE = Distributed(k2q, k2q, projection_values_local, cityHash64(symbol));
