-- Strategies gain an author, versions and their latest metrics; backtest runs, their trades and
-- equity curves. Names are unique per author (the seed's table had them unique overall).
-- depends: 0008_indicator_outputs

ALTER TABLE strategies DROP CONSTRAINT strategies_name_key;
ALTER TABLE strategies ADD COLUMN author text NOT NULL DEFAULT 'admin';
ALTER TABLE strategies ALTER COLUMN author DROP DEFAULT;
ALTER TABLE strategies ADD COLUMN version integer NOT NULL DEFAULT 1;
ALTER TABLE strategies ADD COLUMN performance_metrics jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE strategies ADD COLUMN last_run_id text;
ALTER TABLE strategies ADD CONSTRAINT strategies_author_name_key UNIQUE (author, name);

-- Every version of every strategy's text; a run names the version it ran.
CREATE TABLE strategy_versions (
    strategy_id bigint      NOT NULL REFERENCES strategies (id) ON DELETE CASCADE,
    version     integer     NOT NULL,
    name        text        NOT NULL,
    description text        NOT NULL,
    code        text        NOT NULL,
    parameters  jsonb       NOT NULL,
    author      text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (strategy_id, version)
);

-- A backtest, sweep or walk-forward: what was asked, the data it saw, what came out.
CREATE TABLE strategy_runs (
    id               text             PRIMARY KEY,
    kind             text             NOT NULL,
    status           text             NOT NULL,
    strategy_id      bigint           NOT NULL REFERENCES strategies (id) ON DELETE CASCADE,
    strategy_version integer          NOT NULL,
    owner            text             NOT NULL,
    request          jsonb            NOT NULL,
    job_id           text,
    symbol           text,
    timeframe        text,
    params           jsonb            NOT NULL DEFAULT '{}'::jsonb,
    pin              jsonb,
    metrics          jsonb,
    audit            jsonb,
    result           jsonb,
    error            text,
    trades_total     integer          NOT NULL DEFAULT 0,
    duration_ms      double precision,
    created_at       timestamptz      NOT NULL DEFAULT now(),
    finished_at      timestamptz
);

CREATE INDEX strategy_runs_strategy_idx ON strategy_runs (strategy_id, created_at DESC);

-- A run's trades and its equity at every bar's close, each an Arrow IPC stream (zstd-compressed):
-- one row per run however many trades and bars, written and read whole, paged and thinned when
-- answered. Stored EXTERNAL: already compressed, so Postgres does not try again (pglz took most
-- of the time of a write).
CREATE TABLE strategy_run_data (
    run_id text  PRIMARY KEY REFERENCES strategy_runs (id) ON DELETE CASCADE,
    trades bytea NOT NULL,
    equity bytea
);
ALTER TABLE strategy_run_data ALTER COLUMN trades SET STORAGE EXTERNAL;
ALTER TABLE strategy_run_data ALTER COLUMN equity SET STORAGE EXTERNAL;
