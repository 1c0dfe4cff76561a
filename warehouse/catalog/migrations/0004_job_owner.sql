-- Jobs belong to whoever started them: only they (and admins) see their status and events.
-- depends: 0003_auth

ALTER TABLE jobs ADD COLUMN owner text NOT NULL DEFAULT 'k2q';
CREATE INDEX jobs_owner_idx ON jobs (owner, created_at DESC);
