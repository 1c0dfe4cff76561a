-- Access control: users, API keys, browser sessions, one-time login links, the audit log.
-- depends: 0002_jobs

CREATE TABLE users (
    id            bigserial   PRIMARY KEY,
    username      text        NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9_.@-]{0,63}$'),
    password_hash text,
    role          text        NOT NULL CHECK (role IN ('viewer', 'analyst', 'admin')),
    is_active     boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id           bigserial   PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text        NOT NULL,
    prefix       text        NOT NULL UNIQUE,
    key_hash     text        NOT NULL UNIQUE,
    role         text        NOT NULL CHECK (role IN ('viewer', 'analyst', 'admin')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz
);

CREATE INDEX api_keys_user_idx ON api_keys (user_id);

CREATE TABLE sessions (
    id           uuid        PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    refresh_hash text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    ip           text,
    user_agent   text
);

CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE login_tokens (
    token_hash text        PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE TABLE audit_log (
    id         bigserial   PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text,
    actor_kind text        NOT NULL CHECK (actor_kind IN ('user', 'api_key', 'anonymous', 'system')),
    action     text        NOT NULL,
    target     text,
    outcome    text        NOT NULL CHECK (outcome IN ('ok', 'denied', 'error')),
    status     integer,
    ip         text,
    detail     jsonb       NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, at DESC);
