-- The bar store on the `k2q` cluster (infra/clickhouse/cluster/config.d/cluster.xml): two shards,
-- two replicas each. Run once, against any node, before the API or a worker starts; it is idempotent.
-- docker-compose.cluster.yml runs it in the one-shot `clickhouse-init` service:
--
--   clickhouse-client --host clickhouse --user k2q --password "$PASSWORD" --multiquery < bars_cluster.sql
--
-- Each node stores its shard's rows in `bars_local` (ReplicatedReplacingMergeTree, the same columns,
-- partitioning and sorting key as the single-node `bars` in warehouse/clickhouse/ddl.py). The
-- application reads and writes `bars`, a Distributed table over `bars_local` that routes every row by
-- cityHash64(symbol): all bars of a symbol live on one shard, so FINAL (which each shard applies to
-- its own parts) still returns each bar once. The application's own
-- `CREATE TABLE IF NOT EXISTS bars` is then a no-op.

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
PARTITION BY if(right(timespan, 1) IN ('d', 'w', 'M', 'Q', 'y'), toYear(ts), toYYYYMM(ts))
ORDER BY (symbol, timespan, adjusted, ts);

CREATE TABLE IF NOT EXISTS k2q.bars ON CLUSTER k2q AS k2q.bars_local
ENGINE = Distributed(k2q, k2q, bars_local, cityHash64(symbol));
