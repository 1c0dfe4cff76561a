-- Datasets (the seed's saved_models) and strategies (the seed's strategies table).

CREATE TABLE datasets (
    id            bigserial PRIMARY KEY,
    table_name    text        NOT NULL UNIQUE,
    symbol        text        NOT NULL,
    timespan      text        NOT NULL,
    multiplier    integer     NOT NULL CHECK (multiplier >= 1),
    adjusted      boolean     NOT NULL DEFAULT true,
    source        text        NOT NULL,
    start_date    date        NOT NULL,
    end_date      date        NOT NULL,
    record_count  bigint      NOT NULL DEFAULT 0,
    first_bar     timestamptz,
    last_bar      timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    last_accessed timestamptz,
    CHECK (end_date >= start_date)
);

CREATE INDEX datasets_series_idx ON datasets (symbol, timespan, multiplier, adjusted);

CREATE TABLE strategies (
    id          bigserial PRIMARY KEY,
    name        text        NOT NULL UNIQUE,
    description text        NOT NULL DEFAULT '',
    code        text        NOT NULL,
    parameters  jsonb       NOT NULL DEFAULT '{}'::jsonb,
    is_active   boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
