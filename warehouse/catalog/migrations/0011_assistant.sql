-- The assistant: chat sessions and their messages (tool calls and results included), and agent tasks
-- with their steps. Token usage is kept per message and per task for the daily budget and costs.
-- depends: 0010_projections

CREATE TABLE chat_sessions (
    id              text        PRIMARY KEY,
    owner           text        NOT NULL,
    title           text        NOT NULL,
    state           text        NOT NULL DEFAULT 'running',
    always_allowed  jsonb       NOT NULL DEFAULT '[]'::jsonb,
    context         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    job_id          text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX chat_sessions_owner_idx ON chat_sessions (owner, updated_at DESC);

CREATE TABLE chat_messages (
    id              bigserial   PRIMARY KEY,
    session_id      text        NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
    owner           text        NOT NULL,
    role            text        NOT NULL,
    content         text        NOT NULL,
    tool_calls      jsonb       NOT NULL DEFAULT '[]'::jsonb,
    refs            jsonb       NOT NULL DEFAULT '[]'::jsonb,
    citations       jsonb       NOT NULL DEFAULT '[]'::jsonb,
    provider        text,
    model           text,
    input_tokens    integer     NOT NULL DEFAULT 0,
    output_tokens   integer     NOT NULL DEFAULT 0,
    cost_usd        double precision,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX chat_messages_session_idx ON chat_messages (session_id, id);
CREATE INDEX chat_messages_usage_idx ON chat_messages (owner, created_at) WHERE input_tokens + output_tokens > 0;

CREATE TABLE agent_tasks (
    id              text        PRIMARY KEY,
    owner           text        NOT NULL,
    workflow        text        NOT NULL,
    params          jsonb       NOT NULL,
    limits          jsonb       NOT NULL,
    state           text        NOT NULL DEFAULT 'queued',
    job_id          text,
    summary         text,
    error           text,
    ranking         jsonb,
    refs            jsonb       NOT NULL DEFAULT '[]'::jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);

CREATE INDEX agent_tasks_owner_idx ON agent_tasks (owner, created_at DESC);

CREATE TABLE agent_steps (
    task_id         text        NOT NULL REFERENCES agent_tasks (id) ON DELETE CASCADE,
    idx             integer     NOT NULL,
    name            text        NOT NULL,
    state           text        NOT NULL,
    detail          text        NOT NULL DEFAULT '',
    result          jsonb,
    started_at      timestamptz,
    finished_at     timestamptz,
    PRIMARY KEY (task_id, idx)
);

-- Model calls of agent tasks, for their usage, cost and the owner's daily budget.
CREATE TABLE agent_usage (
    id              bigserial   PRIMARY KEY,
    task_id         text        NOT NULL REFERENCES agent_tasks (id) ON DELETE CASCADE,
    owner           text        NOT NULL,
    provider        text        NOT NULL,
    model           text        NOT NULL,
    input_tokens    integer     NOT NULL,
    output_tokens   integer     NOT NULL,
    cost_usd        double precision,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX agent_usage_owner_idx ON agent_usage (owner, created_at);
