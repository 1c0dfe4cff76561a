-- Background jobs and their progress: the truth about a job outlives Redis.
-- depends: 0001_datasets_strategies

CREATE TABLE jobs (
    id          text        PRIMARY KEY,
    kind        text        NOT NULL,
    state       text        NOT NULL CHECK (state IN ('queued', 'running', 'complete', 'failed', 'cancelled')),
    request     jsonb       NOT NULL,
    progress    jsonb       NOT NULL DEFAULT '[]'::jsonb,
    error       text,
    message     text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX jobs_created_idx ON jobs (created_at DESC);
