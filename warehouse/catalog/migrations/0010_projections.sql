-- Projections (their values are in ClickHouse, projection_values) and evaluations of the methods.
-- depends: 0009_strategy_runs

CREATE TABLE projections (
    id          text             PRIMARY KEY,
    symbol      text             NOT NULL,
    series      text             NOT NULL,
    adjusted    boolean          NOT NULL,
    timeframe   text             NOT NULL,
    session     text             NOT NULL,
    method      text             NOT NULL,
    params      jsonb            NOT NULL,
    level       double precision NOT NULL,
    horizon     integer          NOT NULL,
    owner       text             NOT NULL,
    status      text             NOT NULL,
    job_id      text,
    created_at  timestamptz      NOT NULL DEFAULT now(),
    last_bar    timestamptz,
    first_ts    bigint,
    last_ts     bigint,
    score       jsonb,
    error       text
);

CREATE INDEX projections_series_idx ON projections (symbol, timeframe, created_at DESC);

CREATE TABLE projection_evaluations (
    id          text        PRIMARY KEY,
    symbol      text        NOT NULL,
    series      text        NOT NULL,
    adjusted    boolean     NOT NULL,
    timeframe   text        NOT NULL,
    session     text        NOT NULL,
    request     jsonb       NOT NULL,
    horizon     integer     NOT NULL,
    cuts        integer     NOT NULL,
    owner       text        NOT NULL,
    status      text        NOT NULL,
    job_id      text,
    rows        jsonb       NOT NULL DEFAULT '[]'::jsonb,
    error       text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX projection_evaluations_series_idx ON projection_evaluations (symbol, timeframe, created_at DESC);
