-- The request that queued a job: its id is on the job's log lines, so one id finds both.
-- depends: 0011_assistant

ALTER TABLE jobs ADD COLUMN request_id text;
