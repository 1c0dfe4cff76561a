-- Indicator outputs stored in ClickHouse (table indicator_values), one row per series, session,
-- bucket width and spec: the series version they were computed at (to tell whether new bars
-- arrived since, and in which months), their extent and where their values become stable.
-- depends: 0007_series_claims

CREATE TABLE indicator_outputs (
    symbol       text             NOT NULL,
    series       text             NOT NULL,
    adjusted     boolean          NOT NULL,
    session      text             NOT NULL,
    width        text             NOT NULL,
    spec         text             NOT NULL,
    outputs      text[]           NOT NULL,
    version      jsonb            NOT NULL,
    rows         bigint           NOT NULL,
    first_ts     bigint,
    last_ts      bigint,
    stable_from  bigint,
    computed_at  timestamptz      NOT NULL DEFAULT now(),
    duration_ms  double precision NOT NULL,
    PRIMARY KEY (symbol, series, adjusted, session, width, spec)
);
