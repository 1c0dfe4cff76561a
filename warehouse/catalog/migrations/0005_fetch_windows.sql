-- Fetch checkpoints: every window a fetch job plans, marked done only once its bars are stored,
-- so that a killed, failed or cancelled fetch resumes without refetching finished windows.
-- Jobs also beat a heartbeat while they run, naming the process that runs them, so that a worker can
-- tell an orphaned job from a live one.
-- depends: 0004_job_owner

CREATE TABLE fetch_windows (
    job_id     text        NOT NULL,
    symbol     text        NOT NULL,
    first_day  date        NOT NULL,
    last_day   date        NOT NULL,
    source     text        NOT NULL,
    timespan   text        NOT NULL,
    multiplier integer     NOT NULL CHECK (multiplier >= 1),
    adjusted   boolean     NOT NULL,
    state      text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    bars       bigint      NOT NULL DEFAULT 0,
    error      text,
    done_at    timestamptz,
    inherited  boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (job_id, symbol, first_day, last_day),
    CHECK (last_day >= first_day)
);

-- Finding the same series window in earlier jobs (a re-run resumes a failed or cancelled fetch).
CREATE INDEX fetch_windows_series_idx
    ON fetch_windows (symbol, timespan, multiplier, adjusted, source, first_day, last_day);

ALTER TABLE jobs ADD COLUMN heartbeat_at timestamptz;
ALTER TABLE jobs ADD COLUMN runner text;
CREATE INDEX jobs_unfinished_idx ON jobs (kind, state) WHERE state IN ('queued', 'running');
